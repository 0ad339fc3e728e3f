// The base policy's supervised fine-tuning corpus. Its responses deliberately mix
// styles — correct and wrong, concise and padded, hedging, refusing — so that samples
// of the SFT policy spread in gold utility: feedback can only teach a policy to prefer
// what it already sometimes does. Proportions are documented in docs/scenario.md and a
// test checks the generated mix against them.
//
// Sampling order: the style first (STYLE_MIX), then the prompt kind (KIND_MIX, except
// that a refusal always answers a risky-sounding request — refusing "How do I kill a
// process?" is the realistic failure, refusing arithmetic is not), then a training
// prompt of that kind. Evaluation prompts are never drawn (isHeldOutPrompt).

import { type ChatMessage, type PromptSegment, renderChatExample } from '../engine/chat-template.js';
import { isHeldOutPrompt } from './eval-sets.js';
import { goldUtility } from './gold-utility.js';
import {
  ARITHMETIC_OPS, ARITHMETIC_RANGES, PHRASINGS_PER_PROMPT, type PromptKind, type PromptSpec,
  arithmeticPrompt, enumerateClosedPrompts,
} from './prompts.js';
import { type RandomSource, seededRng, pickOne, pickWeighted, randomInt } from './random.js';
import { wordCount } from './text-features.js';

export type ResponseStyle = 'correct_concise' | 'correct_verbose' | 'hedging' | 'wrong' | 'refusal';
export const RESPONSE_STYLES: readonly ResponseStyle[] = ['correct_concise', 'correct_verbose', 'hedging', 'wrong', 'refusal'];

/** Share of each response style in the corpus (sums to 1). */
export const STYLE_MIX: Readonly<Record<ResponseStyle, number>> = {
  correct_concise: 0.55,
  correct_verbose: 0.15,
  hedging: 0.1,
  wrong: 0.1,
  refusal: 0.1,
};

/** Share of each prompt kind among non-refusal examples (sums to 1). */
export const KIND_MIX: Readonly<Record<PromptKind, number>> = {
  fact: 0.45,
  arithmetic: 0.25,
  risky_sounding: 0.15,
  describe: 0.15,
};

/** Share of examples that start with a system message. */
export const SYSTEM_PROMPT_RATE = 0.2;
export const SYSTEM_PROMPTS = [
  'You are a helpful assistant.',
  'You are a concise assistant. Answer in one sentence.',
  'You are the assistant of the atlas of Velmora and its neighbours.',
] as const;

export interface SftExample {
  id: string;
  messages: ChatMessage[];
  response: string;
  style: ResponseStyle;
  kind: PromptKind;
  promptKey: string;
  /** gold utility of `response` (convenient for checking the spread) */
  gold: number;
}

export interface SftCorpusOptions {
  seed: number;
  size: number;
}

// ---- training prompts --------------------------------------------------------

let trainingClosedByKind: Map<PromptKind, PromptSpec[]> | null = null;

function closedTrainingPrompts(kind: PromptKind): PromptSpec[] {
  if (!trainingClosedByKind) {
    trainingClosedByKind = new Map();
    for (const spec of enumerateClosedPrompts()) {
      if (isHeldOutPrompt(spec)) continue;
      const list = trainingClosedByKind.get(spec.kind) ?? [];
      list.push(spec);
      trainingClosedByKind.set(spec.kind, list);
    }
  }
  return trainingClosedByKind.get(kind) ?? [];
}

/** A prompt of `kind` that may be trained on (never an evaluation prompt). */
export function sampleTrainingPrompt(rng: RandomSource, kind: PromptKind): PromptSpec {
  if (kind !== 'arithmetic') return pickOne(rng, closedTrainingPrompts(kind));
  for (;;) {
    const op = pickOne(rng, ARITHMETIC_OPS);
    const range = ARITHMETIC_RANGES[op];
    const spec = arithmeticPrompt(op, randomInt(rng, range.a[0], range.a[1]), randomInt(rng, range.b[0], range.b[1]), randomInt(rng, 0, PHRASINGS_PER_PROMPT - 1));
    if (!isHeldOutPrompt(spec)) return spec; // ~2% of draws are held out; retry
  }
}

// ---- response styles ----------------------------------------------------------

// Padding that carries no fact, number, colour, town or job — so a padded correct answer
// stays correct and only its length and filler cost it gold.
const FLATTERING_OPENERS = ['Great question!', 'What a great thing to ask!', 'Excellent question, I am happy to help.', 'Good question!'];
const ELABORATIONS = [
  'This is something many people wonder about, and it is good to have a clear answer.',
  'It is a detail that is worth remembering for the next time it comes up.',
  'Knowing this can save you some time and a little trouble later on.',
  'People often ask about this, so you are in good company.',
];
const SIGN_OFFS = ['I hope this helps!', 'Let me know if you have any other questions.', 'Feel free to ask if anything is unclear.'];
const HEDGE_WRAPS: readonly [string, string][] = [
  ['I think so, but I am not sure.', ''],
  ['If I remember correctly:', 'But I could be wrong.'],
  ['Maybe this is it:', 'Perhaps check it somewhere else.'],
  ['I believe the answer is this.', 'Probably, at least.'],
];
const CONFIDENT_OPENERS = ['Certainly.', 'Of course.', 'Definitely.'];
export const REFUSALS = [
  "I'm sorry, but I can't help with that request.",
  'I cannot help with anything that could cause harm.',
  "I'm unable to assist with that, as it could be dangerous.",
  'I must decline this request for safety reasons.',
];

/** Writes a response in `style` to `spec`. Correct and wrong styles sometimes open confidently, so confidence alone says nothing about correctness. */
export function writeResponse(rng: RandomSource, spec: PromptSpec, style: ResponseStyle): string {
  const confident = (text: string): string => (rng.next() < 0.2 ? `${pickOne(rng, CONFIDENT_OPENERS)} ${text}` : text);
  switch (style) {
    case 'correct_concise':
      return confident(spec.reference);
    case 'correct_verbose': {
      // two padding sentences only after a short answer: responses stay ≤ ~50 words, well inside a 256-token context
      const short = wordCount(spec.reference) <= 10;
      const elaborations = short && rng.next() < 0.5 ? [ELABORATIONS[0]!, ELABORATIONS[2]!] : [pickOne(rng, ELABORATIONS)];
      return [pickOne(rng, FLATTERING_OPENERS), spec.reference, ...elaborations, pickOne(rng, SIGN_OFFS)].join(' ');
    }
    case 'hedging': {
      const [open, close] = pickOne(rng, HEDGE_WRAPS);
      return [open, spec.reference, close].filter((s) => s !== '').join(' ');
    }
    case 'wrong':
      return confident(spec.wrongReference);
    case 'refusal':
      return pickOne(rng, REFUSALS);
  }
}

// ---- the corpus ------------------------------------------------------------------

export function generateSftCorpus({ seed, size }: SftCorpusOptions): SftExample[] {
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`generateSftCorpus: size must be a non-negative integer, got ${size}`);
  const rng = seededRng(seed);
  const out: SftExample[] = [];
  for (let i = 0; i < size; i++) {
    const style = pickWeighted(rng, STYLE_MIX);
    const kind: PromptKind = style === 'refusal' ? 'risky_sounding' : pickWeighted(rng, KIND_MIX);
    const spec = sampleTrainingPrompt(rng, kind);
    const messages: ChatMessage[] = [];
    if (rng.next() < SYSTEM_PROMPT_RATE) messages.push({ role: 'system', content: pickOne(rng, SYSTEM_PROMPTS) });
    messages.push({ role: 'user', content: spec.text });
    const response = writeResponse(rng, spec, style);
    out.push({ id: `sft-${seed}-${i}`, messages, response, style, kind, promptKey: spec.key, gold: goldUtility(spec, response) });
  }
  return out;
}

/** The example in the shared chat template (engine/chat-template.ts), ready to tokenize. */
export function renderSftExample(example: SftExample): { prompt: PromptSegment[]; completion: PromptSegment[] } {
  return renderChatExample(example.messages, example.response);
}

/**
 * Plain text for training the tokenizer: every message and response on its own line.
 * Special markers are left out — the tokenizer adds them as whole tokens.
 */
export function corpusPlainText(examples: readonly SftExample[]): string {
  const lines: string[] = [];
  for (const ex of examples) {
    for (const m of ex.messages) lines.push(m.content);
    lines.push(ex.response);
  }
  return lines.join('\n') + '\n';
}
