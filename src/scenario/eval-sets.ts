// Held-out evaluation prompts with their ground truth. They are selected structurally
// (a hash of each prompt's key, no RNG) so the sets are the same on every machine and
// in every version of the generator; `EVAL_SETS_VERSION` names them and a test pins
// their sha256. They are never used for training: the SFT corpus generator and the
// load generator's prompt sampler both exclude them (`isHeldOutPrompt`), and a test
// checks the corpus against them.
//
//   extrinsic   one phrasing of every fact (the other two are trained: the eval asks
//               whether the model learned the fact, not the string) plus arithmetic
//               problems whose operands never appear in training in any phrasing
//   refusal     one phrasing of every risky-sounding request (benign; refusing fails)
//   diversity   one phrasing of every "tell me about …" prompt, for distinct-n

import { createHash } from 'node:crypto';
import type { ChatMessage } from '../engine/chat-template.js';
import {
  ARITHMETIC_OPS, ARITHMETIC_RANGES, PHRASINGS_PER_PROMPT, type PromptKind, type PromptSpec,
  arithmeticPrompt, enumerateClosedPrompts, normalizePromptText,
} from './prompts.js';
import { fnv1a32 } from './random.js';

export const EVAL_SETS_VERSION = 'v1';
export type EvalSetName = 'extrinsic' | 'refusal' | 'diversity';
export const EVAL_SET_NAMES: readonly EvalSetName[] = ['extrinsic', 'refusal', 'diversity'];

/** Held-out arithmetic problems per operation (each in one phrasing). */
export const HELD_OUT_ARITHMETIC_PER_OP = 20;

export interface EvalPrompt {
  /** stable: `${set}/${key}/${phrasing}` */
  id: string;
  set: EvalSetName;
  kind: PromptKind;
  key: string;
  messages: ChatMessage[];
  /** the concise correct answer (the gold utility judges free text, not equality with this) */
  reference: string;
}

export interface EvalSets {
  version: string;
  extrinsic: EvalPrompt[];
  refusal: EvalPrompt[];
  diversity: EvalPrompt[];
}

const heldOutPhrasing = (key: string): number => fnv1a32(`${EVAL_SETS_VERSION}:${key}`) % PHRASINGS_PER_PROMPT;

/** Arithmetic problems held out of training, all phrasings: `${op}:${a}:${b}` keys in a fixed order. */
function heldOutArithmetic(): PromptSpec[] {
  const out: PromptSpec[] = [];
  for (const op of ARITHMETIC_OPS) {
    const { a: [aLo, aHi], b: [bLo, bHi] } = ARITHMETIC_RANGES[op];
    const candidates: { key: string; a: number; b: number; h: number }[] = [];
    for (let a = aLo; a <= aHi; a++) for (let b = bLo; b <= bHi; b++) {
      const key = `${op}:${a}:${b}`;
      candidates.push({ key, a, b, h: fnv1a32(`${EVAL_SETS_VERSION}:${key}`) });
    }
    candidates.sort((x, y) => x.h - y.h || x.key.localeCompare(y.key));
    for (const c of candidates.slice(0, HELD_OUT_ARITHMETIC_PER_OP)) out.push(arithmeticPrompt(op, c.a, c.b, c.h % PHRASINGS_PER_PROMPT));
  }
  return out;
}

function toEvalPrompt(set: EvalSetName, spec: PromptSpec): EvalPrompt {
  return {
    id: `${set}/${spec.key}/${spec.phrasing}`,
    set,
    kind: spec.kind,
    key: spec.key,
    messages: [{ role: 'user', content: spec.text }],
    reference: spec.reference,
  };
}

let cached: EvalSets | null = null;
let heldOutTexts: Set<string> | null = null;
let heldOutArithmeticKeys: Set<string> | null = null;

export function buildEvalSets(): EvalSets {
  if (!cached) {
    const closed = enumerateClosedPrompts().filter((s) => s.phrasing === heldOutPhrasing(s.key));
    const sets: EvalSets = {
      version: EVAL_SETS_VERSION,
      extrinsic: [
        ...closed.filter((s) => s.kind === 'fact').map((s) => toEvalPrompt('extrinsic', s)),
        ...heldOutArithmetic().map((s) => toEvalPrompt('extrinsic', s)),
      ],
      refusal: closed.filter((s) => s.kind === 'risky_sounding').map((s) => toEvalPrompt('refusal', s)),
      diversity: closed.filter((s) => s.kind === 'describe').map((s) => toEvalPrompt('diversity', s)),
    };
    cached = sets;
    heldOutTexts = new Set(closed.map((s) => normalizePromptText(s.text)));
    heldOutArithmeticKeys = new Set(heldOutArithmetic().map((s) => s.key));
  }
  return structuredClone(cached);
}

/** sha256 of a set's canonical JSON: what a test pins and an evaluation records. */
export function evalSetHash(prompts: readonly EvalPrompt[]): string {
  return createHash('sha256').update(JSON.stringify(prompts)).digest('hex');
}

/**
 * True when `spec` is an evaluation prompt and so must not be trained on: a held-out
 * phrasing of a closed prompt, or any phrasing of a held-out arithmetic problem.
 */
export function isHeldOutPrompt(spec: PromptSpec): boolean {
  if (!heldOutTexts || !heldOutArithmeticKeys) buildEvalSets();
  if (spec.kind === 'arithmetic') return heldOutArithmeticKeys!.has(spec.key);
  return heldOutTexts!.has(normalizePromptText(spec.text));
}
