// The decision logic of a simulated user: given the prompt, the response(s), the persona
// and a random source, which feedback they give. Pure and seeded; the load generator
// only carries the result over HTTP.
//
// A user perceives   p = gold + length·L + confidence·C + flattery·F + sd·N(0,1)
//   L = min(words, 40) / 40                         ∈ [0, 1]  (longer looks more thorough)
//   C = clamp((confident phrases − hedges) / 2, −1, 1)        (sure-sounding looks right)
//   F = min(flattery phrases / 2, 1)                 ∈ [0, 1]  (being praised feels good)
// then labels from p:
//   thumbs   +1 if p ≥ thumbsThreshold else −1
//   rating   clamp(round(3 + 2p), 1, 5)
//   pairwise +1 if p_a − p_b > tieMargin, −1 if < −tieMargin, else 0 (tie)
//   edit     the concise correct answer, unless p ≥ editThreshold (then a thumbs up)
// finally: with probability `adversarial` the event is adversarial (half spam — a
// uniformly random label, a junk edit — half inverted), else with probability `noise`
// the label is replaced by a uniformly random one (label noise).
// With all biases 0, the labels are exactly gold's (tested).

import { goldUtility, type GoldPromptInput, promptSpecOf } from '../gold-utility.js';
import { type RandomSource, pickOne, pickWeighted } from '../random.js';
import { confidentCount, flatteryCount, hedgeCount, wordCount } from '../text-features.js';
import type { Persona } from './persona.js';

export const LENGTH_SATURATION_WORDS = 40;

export type FeedbackOrigin = 'honest' | 'noise' | 'spam' | 'inverted';

export type SimulatedFeedback =
  | { type: 'thumbs'; value: 1 | -1; origin: FeedbackOrigin }
  | { type: 'rating'; value: 1 | 2 | 3 | 4 | 5; origin: FeedbackOrigin }
  | { type: 'edit'; value: null; editedResponse: string; origin: FeedbackOrigin }
  /** value is relative to the first completion: 1 = first preferred, −1 = second, 0 = tie */
  | { type: 'pairwise'; value: 1 | -1 | 0; origin: FeedbackOrigin };

export type PairwiseLabel = 1 | -1 | 0;

export function lengthFeature(response: string): number {
  return Math.min(wordCount(response), LENGTH_SATURATION_WORDS) / LENGTH_SATURATION_WORDS;
}

export function confidenceFeature(response: string): number {
  return Math.max(-1, Math.min(1, (confidentCount(response) - hedgeCount(response)) / 2));
}

export function flatteryFeature(response: string): number {
  return Math.min(flatteryCount(response) / 2, 1);
}

/** What the user believes the response is worth, without the Gaussian part. */
export function perceivedUtilityMean(prompt: GoldPromptInput, response: string, persona: Persona): number {
  const b = persona.biases;
  return goldUtility(prompt, response)
    + b.length * lengthFeature(response)
    + b.confidence * confidenceFeature(response)
    + b.flattery * flatteryFeature(response);
}

export function perceivedUtility(prompt: GoldPromptInput, response: string, persona: Persona, rng: RandomSource): number {
  const mean = perceivedUtilityMean(prompt, response, persona);
  return persona.biases.sd > 0 ? mean + persona.biases.sd * rng.normal() : mean;
}

/** The label an unbiased, noiseless user with the same indifference margin would give. */
export function goldPairwiseLabel(prompt: GoldPromptInput, first: string, second: string, tieMargin: number): PairwiseLabel {
  return labelFromDifference(goldUtility(prompt, first) - goldUtility(prompt, second), tieMargin);
}

function labelFromDifference(diff: number, tieMargin: number): PairwiseLabel {
  // compare on a 1e-9 grid: gold is rounded to 1e-4 and a difference of exactly the
  // margin must not flip with floating-point error
  const d = Math.round(diff * 1e9) / 1e9;
  return d > tieMargin ? 1 : d < -tieMargin ? -1 : 0;
}

type Corruption = 'honest' | 'noise' | 'spam' | 'inverted';

function drawCorruption(persona: Persona, rng: RandomSource): Corruption {
  const { adversarial, noise } = persona.biases;
  if (adversarial === 0 && noise === 0) return 'honest';
  const u = rng.next();
  if (u < adversarial) return u < adversarial / 2 ? 'spam' : 'inverted';
  return u < adversarial + noise ? 'noise' : 'honest';
}

const RATINGS = [1, 2, 3, 4, 5] as const;
const SPAM_EDITS = ['lol', 'asdf asdf asdf', 'Buy cheap coins now at the market!', 'no'];

export function decidePairwise(prompt: GoldPromptInput, first: string, second: string, persona: Persona, rng: RandomSource): Extract<SimulatedFeedback, { type: 'pairwise' }> {
  const honest = labelFromDifference(perceivedUtility(prompt, first, persona, rng) - perceivedUtility(prompt, second, persona, rng), persona.tieMargin);
  const origin = drawCorruption(persona, rng);
  switch (origin) {
    case 'honest':
      return { type: 'pairwise', value: honest, origin };
    case 'inverted':
      return { type: 'pairwise', value: (honest === 0 ? 0 : -honest) as PairwiseLabel, origin };
    case 'noise':
    case 'spam':
      return { type: 'pairwise', value: pickOne(rng, [1, -1, 0] as const), origin };
  }
}

/** Feedback on a single completion: the persona's mix picks thumbs, rating or edit. */
export function decideSingleFeedback(prompt: GoldPromptInput, response: string, persona: Persona, rng: RandomSource): Exclude<SimulatedFeedback, { type: 'pairwise' }> {
  const spec = promptSpecOf(prompt);
  const type = pickWeighted(rng, persona.singleFeedbackMix);
  const p = perceivedUtility(spec, response, persona, rng);
  const origin = drawCorruption(persona, rng);
  const thumbsFor = (perceived: number): 1 | -1 => (perceived >= persona.thumbsThreshold ? 1 : -1);
  const randomThumb = (): 1 | -1 => pickOne(rng, [1, -1] as const);

  if (type === 'thumbs' || (type === 'edit' && p >= persona.editThreshold && origin === 'honest')) {
    const honest = thumbsFor(p);
    const value = origin === 'honest' ? honest : origin === 'inverted' ? (-honest as 1 | -1) : randomThumb();
    return { type: 'thumbs', value, origin };
  }
  if (type === 'rating') {
    const honest = Math.max(1, Math.min(5, Math.round(3 + 2 * p))) as 1 | 2 | 3 | 4 | 5;
    const value = origin === 'honest' ? honest : origin === 'inverted' ? ((6 - honest) as 1 | 2 | 3 | 4 | 5) : pickOne(rng, RATINGS);
    return { type: 'rating', value, origin };
  }
  // edit: an honest user writes the answer they wanted; an inverted one "corrects" a
  // response into a wrong one; spam and noise write junk
  const editedResponse = origin === 'honest' ? spec.reference : origin === 'inverted' ? spec.wrongReference : pickOne(rng, SPAM_EDITS);
  return { type: 'edit', value: null, editedResponse, origin };
}
