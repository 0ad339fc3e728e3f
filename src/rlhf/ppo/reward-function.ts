// The reward a policy optimiser maximises, as a port: PPO, best-of-n, rejection sampling
// and the bench all take a RewardFunction, so the reward model's batched scorer (src/rlhf/
// reward, built separately), a scenario reward or a toy reward in a test plug in alike.
//
// A reward function may return one score per response or, for an ensemble (Coste et al.
// 2023), every member's score; `objectiveScores` then applies the selected objective
// (mean / UWO / WCO, src/rlhf/reward/ensemble.ts).

import { assertFinite } from '../../engine/errors.js';
import { ensembleObjective, type EnsembleObjective } from '../reward/ensemble.js';

export interface PolicyResponse {
  /** The response text (without the end-of-turn marker). */
  text: string;
  /** Generated token ids, including a final end-of-turn token when there is one. */
  tokenIds: readonly number[];
  /** False when the response was cut at max tokens. */
  endedWithEos: boolean;
}

export interface RewardScores {
  /** One score per response. With `members`, the ensemble mean (informational). */
  scores: number[];
  /** members[i][k]: member k's score of response i. */
  members?: number[][];
}

/** Scores responses to user prompts (prompts[i] is the user turn responses[i] answers). */
export type RewardFunction = (prompts: readonly string[], responses: readonly PolicyResponse[]) => Promise<RewardScores>;

/** The score per response a policy optimiser uses: the ensemble objective when members are given. */
export function objectiveScores(raw: RewardScores, count: number, objective: EnsembleObjective = { kind: 'mean' }): number[] {
  const out = raw.members ? raw.members.map((m) => ensembleObjective(m, objective)) : raw.scores.slice();
  if (out.length !== count) throw new RangeError(`reward function: ${out.length} scores for ${count} responses`);
  assertFinite('rm_scores', out); // NonFiniteError naming the tensor and the response index
  return out;
}
