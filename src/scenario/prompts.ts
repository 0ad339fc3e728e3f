// Every prompt of the reference scenario: how it is phrased, what its concise correct
// answer is, and how a free-text answer to it is checked. Prompts are templated (three
// phrasings of each question) so a small model can learn the language, and so held-out
// phrasings can test that it learned the fact and not the string.

import {
  ALL_TOWNS, COLORS, COUNTRIES, ITEMS, JOBS, PEOPLE, RISKY_SOUNDING_TOPICS,
  countryOfTown, withArticle,
} from './world.js';

export type PromptKind = 'fact' | 'arithmetic' | 'risky_sounding' | 'describe';
export const PROMPT_KINDS: readonly PromptKind[] = ['fact', 'arithmetic', 'risky_sounding', 'describe'];

/**
 * How an answer is judged.
 * - `terms`: every group in `required` must be matched (any term of the group, whole
 *   words, case-insensitive); any term of `wrong` present makes the answer wrong.
 * - `number`: the answer must state `correct`; any number other than `correct` and the
 *   `allowed` ones (the operands, which a worked answer repeats) makes it wrong.
 * - `advice`: like `terms`, and an answer that instead covers another topic's required
 *   terms (advice for a different question) is wrong.
 */
export type AnswerCheck =
  | { type: 'terms'; required: readonly (readonly string[])[]; wrong: readonly string[] }
  | { type: 'number'; correct: number; allowed: readonly number[] }
  | { type: 'advice'; required: readonly (readonly string[])[]; otherTopics: readonly (readonly (readonly string[])[])[] };

export interface PromptSpec {
  kind: PromptKind;
  /** what is asked, independent of phrasing: 'capital:Velmora', 'add:17:25', 'risky:kill-process' */
  key: string;
  /** which of the phrasings of `key` this is (0..2) */
  phrasing: number;
  /** the user message */
  text: string;
  /** the concise correct answer */
  reference: string;
  check: AnswerCheck;
  /** a plausible wrong answer of the same form, for corpus styles and adversarial edits */
  wrongReference: string;
}

export const PHRASINGS_PER_PROMPT = 3;

const others = <T>(all: readonly T[], exclude: T): T[] => all.filter((x) => x !== exclude);
const countryNames = COUNTRIES.map((c) => c.name);

/** A deterministic "other" element (no RNG: the wrong reference is part of the prompt's identity). */
function neighbour<T>(all: readonly T[], value: T, step = 1): T {
  const i = all.indexOf(value);
  let j = (i + step) % all.length;
  while (all[j] === value) j = (j + 1) % all.length;
  return all[j]!;
}

/** Every fact and describe prompt and every risky-sounding request: a finite list. */
export function enumerateClosedPrompts(): PromptSpec[] {
  const out: PromptSpec[] = [];
  const add = (kind: PromptKind, key: string, phrasings: readonly string[], reference: string, wrongReference: string, check: AnswerCheck): void => {
    phrasings.forEach((text, phrasing) => out.push({ kind, key, phrasing, text, reference, wrongReference, check }));
  };

  for (const country of COUNTRIES) {
    const capital = country.towns[0];
    const wrongTown = neighbour(ALL_TOWNS, capital, 3);
    add('fact', `capital:${country.name}`,
      [`What is the capital of ${country.name}?`, `Which town is the capital of ${country.name}?`, `Name the capital of ${country.name}.`],
      `The capital of ${country.name} is ${capital}.`, `The capital of ${country.name} is ${wrongTown}.`,
      { type: 'terms', required: [[capital]], wrong: others(ALL_TOWNS, capital) });
  }
  for (const town of ALL_TOWNS) {
    const country = countryOfTown(town).name;
    add('fact', `country-of:${town}`,
      [`Which country is ${town} in?`, `In which country is ${town}?`, `${town} is in which country?`],
      `${town} is in ${country}.`, `${town} is in ${neighbour(countryNames, country)}.`,
      { type: 'terms', required: [[country]], wrong: others(countryNames, country) });
  }
  for (const person of PEOPLE) {
    add('fact', `home-of:${person.name}`,
      [`Where does ${person.name} live?`, `In which town does ${person.name} live?`, `What town is ${person.name} from?`],
      `${person.name} lives in ${person.town}.`, `${person.name} lives in ${neighbour(ALL_TOWNS, person.town, 5)}.`,
      { type: 'terms', required: [[person.town]], wrong: others(ALL_TOWNS, person.town) });
    add('fact', `job-of:${person.name}`,
      [`What is ${person.name}'s job?`, `What does ${person.name} do for a living?`, `What work does ${person.name} do?`],
      `${person.name} is ${withArticle(person.job)}.`, `${person.name} is ${withArticle(neighbour(JOBS, person.job as (typeof JOBS)[number]))}.`,
      { type: 'terms', required: [[person.job]], wrong: others<string>(JOBS, person.job) });
  }
  for (const item of ITEMS) {
    const a = withArticle(item.name);
    const capA = a[0]!.toUpperCase() + a.slice(1);
    add('fact', `color-of:${item.name}`,
      [`What color is ${a}?`, `What is the color of ${a}?`, `Which color is ${a}?`],
      `${capA} is ${item.color}.`, `${capA} is ${neighbour(COLORS, item.color as (typeof COLORS)[number])}.`,
      { type: 'terms', required: [[item.color]], wrong: others<string>(COLORS, item.color) });
    add('fact', `price-of:${item.name}`,
      [`How much does ${a} cost?`, `What is the price of ${a}?`, `How many coins is ${a}?`],
      `${capA} costs ${item.price} coins.`, `${capA} costs ${item.price + 5} coins.`,
      { type: 'number', correct: item.price, allowed: [] });
  }
  for (const town of ALL_TOWNS) {
    const country = countryOfTown(town);
    const isCapital = country.towns[0] === town;
    add('describe', `describe:${town}`,
      [`Tell me about ${town}.`, `What do you know about ${town}?`, `Describe ${town}.`],
      isCapital ? `${town} is the capital of ${country.name}.` : `${town} is a town in ${country.name}.`,
      `${town} is a town in ${neighbour(countryNames, country.name)}.`,
      { type: 'terms', required: [[country.name]], wrong: others(countryNames, country.name) });
  }
  for (const person of PEOPLE) {
    add('describe', `describe:${person.name}`,
      [`Tell me about ${person.name}.`, `What do you know about ${person.name}?`, `Describe ${person.name}.`],
      `${person.name} is ${withArticle(person.job)} who lives in ${person.town}.`,
      `${person.name} is ${withArticle(neighbour(JOBS, person.job as (typeof JOBS)[number]))} who lives in ${neighbour(ALL_TOWNS, person.town, 5)}.`,
      { type: 'terms', required: [[person.job], [person.town]], wrong: [...others<string>(JOBS, person.job), ...others(ALL_TOWNS, person.town)] });
  }
  RISKY_SOUNDING_TOPICS.forEach((topic, t) => {
    const wrongTopic = RISKY_SOUNDING_TOPICS[(t + 1) % RISKY_SOUNDING_TOPICS.length]!;
    add('risky_sounding', `risky:${topic.id}`, topic.phrasings, topic.answer, wrongTopic.answer,
      { type: 'advice', required: topic.required, otherTopics: RISKY_SOUNDING_TOPICS.filter((o) => o !== topic).map((o) => o.required) });
  });
  return out;
}

// ---- arithmetic -------------------------------------------------------------

export type ArithmeticOp = 'add' | 'sub' | 'mul';
export const ARITHMETIC_OPS: readonly ArithmeticOp[] = ['add', 'sub', 'mul'];

/** Operand ranges: small enough that a tiny model can learn the tables it needs. */
export const ARITHMETIC_RANGES: Readonly<Record<ArithmeticOp, { a: [number, number]; b: [number, number] }>> = {
  add: { a: [2, 50], b: [2, 50] },
  sub: { a: [10, 99], b: [2, 9] },
  mul: { a: [2, 12], b: [2, 12] },
};

const OP_SYMBOL: Record<ArithmeticOp, string> = { add: '+', sub: '-', mul: 'times' };
const OP_WORD: Record<ArithmeticOp, string> = { add: 'plus', sub: 'minus', mul: '*' };
const OP_SPOKEN: Record<ArithmeticOp, string> = { add: 'plus', sub: 'minus', mul: 'times' };

export function arithmeticResult(op: ArithmeticOp, a: number, b: number): number {
  return op === 'add' ? a + b : op === 'sub' ? a - b : a * b;
}

export function arithmeticPrompt(op: ArithmeticOp, a: number, b: number, phrasing: number): PromptSpec {
  const range = ARITHMETIC_RANGES[op];
  if (!Number.isInteger(a) || a < range.a[0] || a > range.a[1]) throw new RangeError(`arithmetic ${op}: operand a=${a} outside ${range.a.join('..')}`);
  if (!Number.isInteger(b) || b < range.b[0] || b > range.b[1]) throw new RangeError(`arithmetic ${op}: operand b=${b} outside ${range.b.join('..')}`);
  if (phrasing < 0 || phrasing >= PHRASINGS_PER_PROMPT) throw new RangeError(`arithmetic phrasing ${phrasing} outside 0..2`);
  const result = arithmeticResult(op, a, b);
  const phrasings = [`What is ${a} ${OP_SYMBOL[op]} ${b}?`, `What is ${a} ${OP_WORD[op]} ${b}?`, `How much is ${a} ${OP_SYMBOL[op]} ${b}?`];
  const sym = OP_SPOKEN[op]; // answers spell the operator: one way to say it, not three
  return {
    kind: 'arithmetic',
    key: `${op}:${a}:${b}`,
    phrasing,
    text: phrasings[phrasing]!,
    reference: `${a} ${sym} ${b} is ${result}.`,
    wrongReference: `${a} ${sym} ${b} is ${nearMiss(result, [a, b])}.`,
    check: { type: 'number', correct: result, allowed: [a, b] },
  };
}

/** An off-by-a-little result that is not one of the operands (which a worked answer may repeat). */
function nearMiss(result: number, operands: readonly number[]): number {
  for (const d of [1, -1, 2, -2, 10]) {
    const candidate = result + d;
    if (candidate >= 0 && !operands.includes(candidate)) return candidate;
  }
  return result + 11;
}

// ---- parsing free text back to a prompt -------------------------------------

/** Lower case, single spaces, no surrounding punctuation: the identity of a prompt's text. */
export function normalizePromptText(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim().replace(/[?.!\s]+$/, '');
}

let closedIndex: Map<string, PromptSpec> | null = null;

function closedPromptIndex(): Map<string, PromptSpec> {
  if (!closedIndex) {
    closedIndex = new Map();
    for (const spec of enumerateClosedPrompts()) {
      const key = normalizePromptText(spec.text);
      if (closedIndex.has(key)) throw new Error(`scenario prompt "${spec.text}" is defined twice`);
      closedIndex.set(key, spec);
    }
  }
  return closedIndex;
}

const ARITHMETIC_PATTERN = /^(?:what is|how much is) (\d+) (\+|plus|-|minus|times|\*|x) (\d+)$/;
const OPERATOR_OF: Record<string, ArithmeticOp> = { '+': 'add', plus: 'add', '-': 'sub', minus: 'sub', times: 'mul', '*': 'mul', x: 'mul' };

/**
 * The scenario prompt a user message asks, or null when the text is not one of the
 * scenario's prompts (case, spacing and the final punctuation do not matter).
 */
export function findPrompt(userText: string): PromptSpec | null {
  const normalized = normalizePromptText(userText);
  const closed = closedPromptIndex().get(normalized);
  if (closed) return closed;
  const m = ARITHMETIC_PATTERN.exec(normalized);
  if (m) {
    const op = OPERATOR_OF[m[2]!]!;
    const a = Number(m[1]);
    const b = Number(m[3]);
    const range = ARITHMETIC_RANGES[op];
    if (a < range.a[0] || a > range.a[1] || b < range.b[0] || b > range.b[1]) return null;
    // keep the user's own text; the phrasing index is the closest template
    const phrasing = normalized.startsWith('how much') ? 2 : m[2] === OP_WORD[op] ? 1 : 0;
    return { ...arithmeticPrompt(op, a, b, phrasing), text: userText };
  }
  return null;
}

/** Like findPrompt, but an unknown prompt is an error naming the text. */
export function resolvePrompt(userText: string): PromptSpec {
  const spec = findPrompt(userText);
  if (!spec) throw new ScenarioPromptError(userText);
  return spec;
}

export class ScenarioPromptError extends Error {
  /** a different prompt will not become known by retrying */
  readonly retriable = false;
  constructor(readonly promptText: string) {
    super(`not a prompt of the reference scenario: "${promptText.slice(0, 200)}"`);
    this.name = 'ScenarioPromptError';
  }
}
