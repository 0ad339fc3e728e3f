// A simulated user: their biases, which feedback they give and how readily.

import { type BiasSpec, NO_BIAS, validateBiasSpec } from './bias-spec.js';

export type FeedbackType = 'thumbs' | 'rating' | 'pairwise' | 'edit';
export type SingleFeedbackType = Exclude<FeedbackType, 'pairwise'>;

export interface Persona {
  id: string;
  biases: BiasSpec;
  /** which feedback a user gives on a single completion (weights) */
  singleFeedbackMix: Readonly<Record<SingleFeedbackType, number>>;
  /** share of turns that ask for two completions (n: 2) and compare them */
  comparisonRate: number;
  /** share of single-completion turns that get any feedback at all */
  feedbackRate: number;
  /** |perceived difference| at or below which a comparison is a tie */
  tieMargin: number;
  /** perceived utility at or above which a thumb goes up */
  thumbsThreshold: number;
  /** perceived utility at or above which the user does not bother to edit (gives thumbs up) */
  editThreshold: number;
}

export const DEFAULT_PERSONA: Omit<Persona, 'id' | 'biases'> = {
  singleFeedbackMix: { thumbs: 0.5, rating: 0.3, edit: 0.2 },
  comparisonRate: 0.3,
  feedbackRate: 0.9,
  tieMargin: 0.05,
  thumbsThreshold: 0.5,
  editThreshold: 0.75,
};

export function makePersona(id: string, biases: BiasSpec = NO_BIAS, overrides: Partial<Omit<Persona, 'id' | 'biases'>> = {}): Persona {
  const persona: Persona = { ...DEFAULT_PERSONA, ...overrides, id, biases: validateBiasSpec({ ...biases }) };
  for (const key of ['comparisonRate', 'feedbackRate'] as const) {
    if (!(persona[key] >= 0 && persona[key] <= 1)) throw new RangeError(`persona ${id}: ${key} must be in [0, 1], got ${persona[key]}`);
  }
  if (!(persona.tieMargin >= 0)) throw new RangeError(`persona ${id}: tieMargin must be ≥ 0, got ${persona.tieMargin}`);
  const mixTotal = Object.values(persona.singleFeedbackMix).reduce((s, w) => s + w, 0);
  if (!(mixTotal > 0) || Object.values(persona.singleFeedbackMix).some((w) => w < 0)) throw new RangeError(`persona ${id}: singleFeedbackMix weights must be ≥ 0 with a positive sum`);
  return persona;
}

/**
 * A population of `count` users sharing `biases` but not habits: feedback mix and
 * comparison rate vary by user (deterministically by index) so the stream carries every
 * feedback type in realistic proportions.
 */
export function makePopulation(count: number, biases: BiasSpec): Persona[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`population size must be a positive integer, got ${count}`);
  const habits: Partial<Omit<Persona, 'id' | 'biases'>>[] = [
    {},
    { singleFeedbackMix: { thumbs: 0.8, rating: 0.1, edit: 0.1 }, comparisonRate: 0.2 },
    { singleFeedbackMix: { thumbs: 0.2, rating: 0.6, edit: 0.2 }, comparisonRate: 0.4 },
    { singleFeedbackMix: { thumbs: 0.3, rating: 0.2, edit: 0.5 }, comparisonRate: 0.3 },
  ];
  return Array.from({ length: count }, (_, i) => makePersona(`sim-user-${i}`, biases, habits[i % habits.length]));
}
