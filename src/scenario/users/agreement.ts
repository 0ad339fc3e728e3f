// How often a persona's pairwise labels agree with gold: the measure behind the
// documented length-bias curve (docs/scenario.md) and a quick check of any persona.

import type { PromptSpec } from '../prompts.js';
import { type RandomSource, seededRng, pickWeighted } from '../random.js';
import { KIND_MIX, type ResponseStyle, STYLE_MIX, sampleTrainingPrompt, writeResponse } from '../sft-corpus.js';
import { decidePairwise, goldPairwiseLabel } from './feedback-model.js';
import type { Persona } from './persona.js';

export interface ComparisonPair {
  spec: PromptSpec;
  first: string;
  second: string;
  firstStyle: ResponseStyle;
  secondStyle: ResponseStyle;
}

/**
 * Pairs of responses to the same training prompt in two different styles, each style
 * drawn from the corpus mix: the kind of pair a user compares when the SFT policy
 * answers twice.
 */
export function sampleComparisonPairs({ seed, count }: { seed: number; count: number }): ComparisonPair[] {
  const rng = seededRng(seed);
  const pairs: ComparisonPair[] = [];
  for (let i = 0; i < count; i++) {
    const spec = sampleTrainingPrompt(rng, pickWeighted(rng, KIND_MIX));
    const firstStyle = pickWeighted(rng, STYLE_MIX);
    let secondStyle = pickWeighted(rng, STYLE_MIX);
    while (secondStyle === firstStyle) secondStyle = pickWeighted(rng, STYLE_MIX);
    pairs.push({ spec, firstStyle, secondStyle, first: writeResponse(rng, spec, firstStyle), second: writeResponse(rng, spec, secondStyle) });
  }
  return pairs;
}

export interface AgreementResult {
  pairs: number;
  /** share of pairs whose label equals the gold label (ties included) */
  agreement: number;
}

export function pairwiseAgreement(pairs: readonly ComparisonPair[], persona: Persona, rng: RandomSource): AgreementResult {
  let agree = 0;
  for (const pair of pairs) {
    const label = decidePairwise(pair.spec, pair.first, pair.second, persona, rng).value;
    if (label === goldPairwiseLabel(pair.spec, pair.first, pair.second, persona.tieMargin)) agree++;
  }
  return { pairs: pairs.length, agreement: pairs.length === 0 ? Number.NaN : agree / pairs.length };
}
