// The hidden prompt set: what the gate bench labels candidates with (gold utility), and
// what no gate, eval suite or evaluator ever reads. A gate tuned on the eval suites could
// overfit them; judging its verdicts by gold on prompts it never saw is what makes the
// confusion table a test of the gate rather than of the suites.
//
// Disjoint from the eval sets (eval-sets.ts) by construction and checked by a test:
//   closed prompts   for every fact / describe / risky-sounding key, one of the two
//                    phrasings the eval sets do not use (picked by a salted hash)
//   arithmetic       20 problems per operation that are not eval problems, ranked by a
//                    salted hash (no RNG)
// The selection is structural, so the set is the same on every machine; a test pins its
// sha256 under HIDDEN_SET_VERSION. Unlike the eval sets, these prompts are not excluded
// from the base policy's SFT corpus (that was trained before this set existed); a
// consumer that trains on prompts (PPO, reward-model pairs) excludes them with
// `isHiddenPrompt`, as the gate bench does.

import { createHash } from 'node:crypto';
import type { ChatMessage } from '../engine/chat-template.js';
import { isHeldOutPrompt } from './eval-sets.js';
import {
  ARITHMETIC_OPS, ARITHMETIC_RANGES, PHRASINGS_PER_PROMPT, type PromptKind, type PromptSpec, arithmeticPrompt, enumerateClosedPrompts, normalizePromptText,
} from './prompts.js';
import { fnv1a32 } from './random.js';

export const HIDDEN_SET_VERSION = 'hidden-v1';
/** sha256 of the set's canonical JSON (hiddenSetHash); a test checks it, so a change is deliberate. */
export const HIDDEN_SET_SHA256 = 'cc5565ac08e7f9c336390fffa1e65cd8f5201a56c53fbec914124ca4104218dd';
export const HIDDEN_ARITHMETIC_PER_OP = 20;

export interface HiddenPrompt {
  /** `hidden/${key}/${phrasing}` */
  id: string;
  kind: PromptKind;
  key: string;
  messages: ChatMessage[];
  reference: string;
}

const salted = (key: string): number => fnv1a32(`${HIDDEN_SET_VERSION}:${key}`);

function hiddenSpecs(): PromptSpec[] {
  const closed = enumerateClosedPrompts();
  const byKey = new Map<string, PromptSpec[]>();
  for (const s of closed) if (!isHeldOutPrompt(s)) byKey.set(s.key, [...(byKey.get(s.key) ?? []), s]);
  const picked = [...byKey.values()].map((phrasings) => phrasings[salted(phrasings[0]!.key) % phrasings.length]!);
  const arithmetic: PromptSpec[] = [];
  for (const op of ARITHMETIC_OPS) {
    const { a: [aLo, aHi], b: [bLo, bHi] } = ARITHMETIC_RANGES[op];
    const ranked: { spec: PromptSpec; h: number }[] = [];
    for (let a = aLo; a <= aHi; a++) for (let b = bLo; b <= bHi; b++) {
      const key = `${op}:${a}:${b}`;
      const h = salted(key);
      const spec = arithmeticPrompt(op, a, b, h % PHRASINGS_PER_PROMPT);
      if (!isHeldOutPrompt(spec)) ranked.push({ spec, h });
    }
    ranked.sort((x, y) => x.h - y.h || x.spec.key.localeCompare(y.spec.key));
    arithmetic.push(...ranked.slice(0, HIDDEN_ARITHMETIC_PER_OP).map((r) => r.spec));
  }
  return [...picked, ...arithmetic];
}

let cached: { prompts: HiddenPrompt[]; texts: Set<string> } | null = null;

function build(): { prompts: HiddenPrompt[]; texts: Set<string> } {
  if (!cached) {
    const specs = hiddenSpecs();
    cached = {
      prompts: specs.map((s) => ({ id: `hidden/${s.key}/${s.phrasing}`, kind: s.kind, key: s.key, messages: [{ role: 'user', content: s.text }], reference: s.reference })),
      texts: new Set(specs.map((s) => normalizePromptText(s.text))),
    };
  }
  return cached;
}

/** The hidden prompt set, in a fixed order. */
export function buildHiddenPromptSet(): HiddenPrompt[] {
  return structuredClone(build().prompts);
}

/** True when a prompt text is in the hidden set (train on none of them). */
export function isHiddenPrompt(text: string): boolean {
  return build().texts.has(normalizePromptText(text));
}

export function hiddenSetHash(prompts: readonly HiddenPrompt[]): string {
  return createHash('sha256').update(JSON.stringify(prompts)).digest('hex');
}
