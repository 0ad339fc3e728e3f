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
  /** Tokens generated for all n·prompts samples (the cost; the winners alone are bestTokens). */
  generatedTokens: number;
  bestTokens: number;
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
  const tokens = (rs: readonly PolicyResponse[]): number => rs.reduce((a, r) => a + r.tokenIds.length, 0);
  return { best, bestScores, sampleMeanScore: avg(scores), bestMeanScore: avg(bestScores), klBound, samples: responses.length, generatedTokens: tokens(responses), bestTokens: tokens(best), sampleMs, rewardMs };
}

const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export interface ChunkedBestOfNOptions {
  /** Prompts per chunk; progress and cancel happen between chunks. */
  promptsPerChunk: number;
  /** After each chunk: prompts done so far, and the chunk's result. */
  onChunk?: (promptsDone: number, chunk: BestOfNResult) => void;
  /** Read before each chunk; true throws `cancelled(promptsDone)`. */
  cancelRequested?: () => boolean;
  cancelled?: (promptsDone: number) => Error;
}

/**
 * bestOfN over the prompts in chunks, with the same samples as one call: chunk c starting
 * at prompt i0 samples with seed + i0·n, so sample j of prompt i still uses seed + i·n + j.
 */
export async function bestOfNInChunks(engine: BatchEngine, reward: RewardFunction, prompts: readonly string[], opts: BestOfNOptions, chunking: ChunkedBestOfNOptions): Promise<BestOfNResult> {
  if (!Number.isInteger(chunking.promptsPerChunk) || chunking.promptsPerChunk < 1) throw new RangeError(`promptsPerChunk: must be a positive integer, got ${chunking.promptsPerChunk}`);
  const parts: BestOfNResult[] = [];
  for (let i0 = 0; i0 < prompts.length; i0 += chunking.promptsPerChunk) {
    if (chunking.cancelRequested?.()) throw (chunking.cancelled ?? ((d: number) => new Error(`best-of-n cancelled after ${d} prompts`)))(i0);
    const part = await bestOfN(engine, reward, prompts.slice(i0, i0 + chunking.promptsPerChunk), { ...opts, seed: opts.seed + i0 * opts.n });
    parts.push(part);
    chunking.onChunk?.(Math.min(prompts.length, i0 + chunking.promptsPerChunk), part);
  }
  if (parts.length === 0) throw new RangeError('prompts: need at least one prompt');
  const samples = parts.reduce((a, p) => a + p.samples, 0);
  const bestScores = parts.flatMap((p) => p.bestScores);
  return {
    best: parts.flatMap((p) => p.best),
    bestScores,
    sampleMeanScore: parts.reduce((a, p) => a + p.sampleMeanScore * p.samples, 0) / samples,
    bestMeanScore: avg(bestScores),
    klBound: parts[0]!.klBound,
    samples,
    generatedTokens: parts.reduce((a, p) => a + p.generatedTokens, 0),
    bestTokens: parts.reduce((a, p) => a + p.bestTokens, 0),
    sampleMs: parts.reduce((a, p) => a + p.sampleMs, 0),
    rewardMs: parts.reduce((a, p) => a + p.rewardMs, 0),
  };
}
