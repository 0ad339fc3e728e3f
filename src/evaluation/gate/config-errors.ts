// Configuration errors that name where the problem is. Gate policies and eval suites are
// validated once at load with zod; each issue becomes one line "<path>: <message>", the
// path rooted where the object sits in the configuration ("rmQualityGate.ece.max",
// "gate.rules[2].metric"), and an unknown key lists the keys that are known there, so a
// typo is an error that says what was meant — never an ignored key.

import { z } from 'zod';
import { editDistance } from '../../domain/edit-distance.js';

export type ConfigPath = readonly (string | number)[];

/** "gate.rules[2].min" */
export function formatConfigPath(path: ConfigPath): string {
  return path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s === '' ? p : `${s}.${p}`), '');
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodLazy) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodDefault || s instanceof z.ZodPipe) s = (s instanceof z.ZodDefault ? s.def.innerType : s.def.in) as z.ZodType;
    else return s;
  }
}

/** The keys an object schema at `path` knows (empty when the path leads elsewhere). */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s = unwrap(schema);
  for (const key of path) {
    if (s instanceof z.ZodArray && typeof key === 'number') s = unwrap(s.element as z.ZodType);
    else if (s instanceof z.ZodRecord && typeof key === 'string') s = unwrap(s.valueType as z.ZodType);
    else if (s instanceof z.ZodObject && typeof key === 'string' && key in s.shape) s = unwrap(s.shape[key] as z.ZodType);
    else return [];
  }
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

/**
 * One line per zod issue, rooted at `at`. `unknownKeyNoun` names what an unknown key is
 * taken for ("rule" in a gate, "key" elsewhere).
 */
export function describeZodIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], at: ConfigPath, unknownKeyNoun = 'key'): string[] {
  return issues.map((issue) => {
    const path = [...at, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path);
      return issue.keys.map((k) => `${formatConfigPath([...path, k])}: unknown ${unknownKeyNoun} (known here: ${known.join(', ')})`).join('\n  ');
    }
    return `${formatConfigPath(path)}: ${issue.message}`;
  });
}

/** The closest known name by edit distance, for "did you mean" (null when nothing is close). */
export function closestName(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(name.length / 4)) + 1;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}
