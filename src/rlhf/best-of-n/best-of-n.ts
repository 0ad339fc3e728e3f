// Best-of-n (Stiennon et al. 2020; Gao et al. 2022): sample n responses per prompt from
// the policy, keep the one the reward scores highest. As an offline baseline it shows what
// the reward buys without any training, at a known distance from the policy:
// KL(π_bon ‖ π) ≤ log n − (n − 1)/n (kl.ts). Rejection-sampling fine-tuning trains on the
// winners (rejection-sampling.ts).

import type { BatchEngine } from '../../engine/runtime/batch-engine.js';
import type { EnsembleObjective } from '../reward/ensemble.js';
import { objectiveScores, type PolicyResponse, type RewardFunction } from '../ppo/reward-function.js';
import { encodeUserPrompt, sampleResponses } from '../ppo/rollout.js';
import { bestOfNKl } from './kl.js';

export interface BestOfNOptions {
  n: number;
  maxTokens: number;
  /** Sample j of prompt i uses seed + i·n + j. */
  seed: number;
  objective?: EnsembleObjective;
  /** Subtracted from the score of a response cut at max tokens. Default 0. */
  truncationPenalty?: number;
}

export interface BestOfNResult {
  /** Per prompt: the highest-scoring response (first on ties) and its score. */
  best: PolicyResponse[];
  bestScores: number[];
  /** Mean score of all n·prompts samples: the policy's own expected reward (n = 1). */
  sampleMeanScore: number;
  bestMeanScore: number;
  /** log n − (n − 1)/n nats: the KL of the best-of-n distribution from the policy. */
  klBound: number;
  samples: number;
  sampleMs: number;
  rewardMs: number;
}

export async function bestOfN(engine: BatchEngine, reward: RewardFunction, prompts: readonly string[], opts: BestOfNOptions): Promise<BestOfNResult> {
  const { n } = opts;
  const klBound = bestOfNKl(n); // validates n
  if (prompts.length === 0) throw new RangeError('prompts: need at least one prompt');
  const ids = prompts.map((p) => encodeUserPrompt(engine.tokenizer, p));
  const flatIds = ids.flatMap((p) => Array.from({ length: n }, () => p));
  const flatPrompts = prompts.flatMap((p) => Array.from({ length: n }, () => p));
  let t0 = performance.now();
  const responses = await sampleResponses(engine, flatIds, opts.maxTokens, opts.seed);
  const sampleMs = performance.now() - t0;
  t0 = performance.now();
  const penalty = opts.truncationPenalty ?? 0;
  const scores = objectiveScores(await reward(flatPrompts, responses), responses.length, opts.objective).map((s, k) => (responses[k]!.endedWithEos ? s : s - penalty));
  const rewardMs = performance.now() - t0;
  const best: PolicyResponse[] = [];
  const bestScores: number[] = [];
  for (let i = 0; i < prompts.length; i++) {
    let k = i * n;
    for (let j = 1; j < n; j++) if (scores[i * n + j]! > scores[k]!) k = i * n + j;
    best.push(responses[k]!);
    bestScores.push(scores[k]!);
  }
  const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { best, bestScores, sampleMeanScore: avg(scores), bestMeanScore: avg(bestScores), klBound, samples: responses.length, sampleMs, rewardMs };
}
