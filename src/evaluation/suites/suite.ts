// Eval suites as declarative configuration: a suite is a prompt set, pinned by name and
// sha256, and the scorers to run on each response. Validated once at load (zod, strict)
// with errors naming the path ("suites[1].scorers[0].options.pattern: …"); a scorer
// type nobody registered is refused there too. Evaluation refuses a prompt set whose
// content does not hash to the pinned sha256: numbers from a different set of prompts
// must never be compared with the old ones as if they were the same benchmark.

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { closestName, describeZodIssues, formatConfigPath } from '../gate/config-errors.js';
import type { EvalPromptLike, Scorer, ScorerRegistry } from './scorer.js';

const NAME = /^[a-z][a-z0-9_]*$/;
/** Diagnostic metric names a scorer's name would shadow (the others contain a dot, which a name cannot). */
const RESERVED_METRIC_NAMES = new Set(['distinct1', 'distinct2', 'repetition', 'length', 'kl']);
const name = z.string().regex(NAME, 'must be lower_snake_case (a–z, 0–9, _), starting with a letter');

const scorerEntrySchema = z.strictObject({
  /** the metric's name within the suite: `<suite>.<name>` */
  name,
  /** a registered scorer type */
  type: z.string().min(1),
  options: z.record(z.string(), z.unknown()).optional(),
});

export const evalSuiteSchema = z.strictObject({
  name,
  promptSet: z.strictObject({
    name: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
  }),
  scorers: z.array(scorerEntrySchema).min(1),
});

export interface EvalSuiteConfig {
  name: string;
  promptSet: { name: string; sha256: string };
  scorers: { name: string; type: string; options: unknown }[];
}

export class EvalSuiteConfigError extends Error {
  readonly retriable = false;
  readonly code = 'eval_suite_config';
  constructor(readonly problems: string[]) {
    super(`invalid eval suite:\n  ${problems.join('\n  ')}`);
    this.name = 'EvalSuiteConfigError';
  }
}

/**
 * Validates suite configuration against the registry: every scorer type must be
 * registered and its options must satisfy that type's schema. `at` is where the
 * suite sits in the configuration, for the error paths.
 */
export function parseEvalSuite(input: unknown, registry: ScorerRegistry, at: string = 'suite'): EvalSuiteConfig {
  const parsed = evalSuiteSchema.safeParse(input);
  if (!parsed.success) throw new EvalSuiteConfigError(describeZodIssues(evalSuiteSchema, parsed.error.issues, [at]));
  const problems: string[] = [];
  const seen = new Set<string>();
  const scorers = parsed.data.scorers.map((entry, i) => {
    const path = [at, 'scorers', i];
    if (seen.has(entry.name)) problems.push(`${formatConfigPath([...path, 'name'])}: "${entry.name}" is used twice in this suite`);
    if (RESERVED_METRIC_NAMES.has(entry.name)) problems.push(`${formatConfigPath([...path, 'name'])}: "${entry.name}" is a diagnostic every suite reports; name the scorer otherwise`);
    seen.add(entry.name);
    const factory = registry.get(entry.type);
    if (!factory) {
      const near = closestName(entry.type, registry.types());
      problems.push(`${formatConfigPath([...path, 'type'])}: unknown scorer type "${entry.type}"${near ? ` (did you mean "${near}"?)` : ''}; registered: ${registry.types().join(', ')}`);
      return { ...entry, options: undefined };
    }
    const options = factory.options.safeParse(entry.options ?? {});
    if (!options.success) {
      problems.push(...describeZodIssues(factory.options, options.error.issues, [...path, 'options'], 'option'));
      return { ...entry, options: undefined };
    }
    return { name: entry.name, type: entry.type, options: options.data };
  });
  if (problems.length > 0) throw new EvalSuiteConfigError(problems);
  return { name: parsed.data.name, promptSet: parsed.data.promptSet, scorers };
}

/** sha256 of a prompt set's canonical JSON (JSON.stringify of the array, as stored): what a suite pins. */
export function promptSetHash(prompts: readonly EvalPromptLike[]): string {
  return createHash('sha256').update(JSON.stringify(prompts)).digest('hex');
}

export type EvalSuiteErrorCode = 'prompt_set_hash_mismatch' | 'prompt_set_unknown' | 'prompt_set_malformed' | 'scorer_unknown';

/** The suite cannot run as configured: its prompt set is absent or is not the pinned one. Not retriable. */
export class EvalSuiteError extends Error {
  readonly retriable = false;
  constructor(
    readonly code: EvalSuiteErrorCode,
    /** the suite's configuration field at fault, e.g. "extrinsic.promptSet.sha256" */
    readonly field: string,
    message: string,
    readonly expected?: string,
    readonly actual?: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'EvalSuiteError';
  }
}

export interface ResolvedSuite {
  name: string;
  promptSet: { name: string; sha256: string; prompts: readonly EvalPromptLike[] };
  scorers: { name: string; type: string; scorer: Scorer }[];
}

/** Binds a parsed suite to its prompt set (refused unless it hashes to the pinned sha256) and builds its scorers. */
export function resolveSuite(config: EvalSuiteConfig, promptSets: Readonly<Record<string, readonly EvalPromptLike[]>>, registry: ScorerRegistry): ResolvedSuite {
  const field = `${config.name}.promptSet`;
  const prompts = Object.hasOwn(promptSets, config.promptSet.name) ? promptSets[config.promptSet.name] : undefined;
  if (!prompts) throw new EvalSuiteError('prompt_set_unknown', `${field}.name`, `no prompt set "${config.promptSet.name}" (have: ${Object.keys(promptSets).join(', ') || 'none'})`);
  const actual = promptSetHash(prompts);
  if (actual !== config.promptSet.sha256) {
    throw new EvalSuiteError('prompt_set_hash_mismatch', `${field}.sha256`,
      `prompt set "${config.promptSet.name}" hashes to ${actual}, not the pinned ${config.promptSet.sha256}; refusing to evaluate on a different set`,
      config.promptSet.sha256, actual);
  }
  const ids = new Set<string>();
  prompts.forEach((p, i) => {
    if (ids.has(p.id)) throw new EvalSuiteError('prompt_set_malformed', `${config.promptSet.name}[${i}].id`, `prompt id "${p.id}" appears twice`);
    ids.add(p.id);
  });
  return {
    name: config.name,
    promptSet: { ...config.promptSet, prompts },
    scorers: config.scorers.map((s) => {
      const factory = registry.get(s.type);
      if (!factory) throw new EvalSuiteError('scorer_unknown', `${config.name}.scorers.${s.name}.type`, `scorer type "${s.type}" is not registered`);
      return { name: s.name, type: s.type, scorer: factory.create(s.options as never) };
    }),
  };
}
