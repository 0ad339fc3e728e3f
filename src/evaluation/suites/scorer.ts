// The pluggable scorer interface of eval suites: a scorer turns (prompt, response) into a
// score, synchronously or not (an external judge answers over the network). A suite names
// its scorers by `type`; a ScorerRegistry maps each type to a factory that validates the
// scorer's options with its own zod schema and builds it. The built-in scorers (exact
// match, regex, JSON schema, numeric tolerance, phrase counts) and the reference
// scenario's (extrinsic, refusal, diversity) are registered the same way a team
// registers its own.

import { z } from 'zod';

/** A chat message of an eval prompt. */
export interface EvalMessage {
  role: string;
  content: string;
}

/** What a scorer is given as the prompt: the prompt set's entry (a set may carry more fields; its own scorers know them). */
export interface EvalPromptLike {
  /** stable within its prompt set */
  id: string;
  messages: readonly EvalMessage[];
  /** the expected answer, for scorers that compare with one */
  reference?: string;
}

/** A score with an optional category, e.g. `{ value: 1, label: 'right' }`. */
export interface ScoreResult {
  value: number;
  label?: string;
}

export type Score = number | boolean | ScoreResult;

export interface Scorer {
  score(prompt: EvalPromptLike, response: string): Score | Promise<Score>;
  /**
   * A set-level statistic over the scored responses (e.g. distinct-n over all of them);
   * called with the values and responses of each bootstrap resample. Default: the mean
   * of the values.
   */
  aggregate?(values: Float64Array, responses: readonly string[]): number;
}

export interface ScorerFactory<Options = unknown> {
  /** what a suite writes as the scorer's `type` */
  type: string;
  description: string;
  /** validates the `options` of a suite's scorer entry (strict: unknown keys are errors) */
  options: z.ZodType<Options>;
  create(options: Options): Scorer;
}

export class ScorerRegistry {
  private readonly factories = new Map<string, ScorerFactory>();

  register<O>(factory: ScorerFactory<O>): this {
    if (this.factories.has(factory.type)) throw new RangeError(`scorer type "${factory.type}" is already registered`);
    // the factory validates its own options before create, so it is stored type-erased
    this.factories.set(factory.type, factory as unknown as ScorerFactory);
    return this;
  }

  get(type: string): ScorerFactory | undefined {
    return this.factories.get(type);
  }

  types(): string[] {
    return [...this.factories.keys()];
  }
}

/** The score as a number and an optional label; a boolean is 1 or 0. */
export function normalizeScore(score: Score): ScoreResult {
  if (typeof score === 'boolean') return { value: score ? 1 : 0 };
  if (typeof score === 'number') return { value: score };
  return score;
}

/**
 * An external judge (an LLM or a judge RM behind HTTP). Its client does I/O, so it lives
 * in the evaluator service; this layer only defines what it must answer.
 */
export interface JudgeClient {
  judge(prompt: EvalPromptLike, response: string): Promise<ScoreResult>;
}

/** A scorer factory of `type` backed by a judge client the evaluator service provides (it takes no options). */
export function judgeScorerFactory(type: string, client: JudgeClient): ScorerFactory<Record<string, never>> {
  return {
    type,
    description: 'an external judge; the client (and its I/O) is provided by the evaluator service',
    options: z.strictObject({}),
    create: () => ({ score: (prompt, response) => client.judge(prompt, response) }),
  };
}
