// Best-of-n as an offline evaluation on a worker thread (TrainThread): sample n responses
// per prompt from the policy, score them with the reward (named by module URL, as PPO's),
// and report what the best of n buys over one sample, at what cost (n× the tokens) and at
// what distance from the policy (log n − (n − 1)/n). Progress per chunk of prompts; cancel
// between chunks. Nothing is written: a new attempt starts over (a run is minutes).

import { readArtifact, type LoadedArtifact } from '../../engine/artifact/artifact.js';
import { BatchEngine } from '../../engine/runtime/batch-engine.js';
import { TrainThread, type TrainThreadOptions } from '../../engine/train/train-thread.js';
import { TrainingCancelledError, type TrainingContext, type TrainingProgram } from '../../engine/train/training-program.js';
import type { EnsembleObjective } from '../reward/ensemble.js';
import { loadReward, type RewardModuleSpec } from '../ppo/ppo.program.js';
import type { RewardFunction } from '../ppo/reward-function.js';
import { bestOfNInChunks, type BestOfNResult } from './best-of-n.js';

export interface BestOfNProgramParams {
  policyDir: string;
  reward: RewardModuleSpec;
  prompts: string[];
  n: number;
  maxTokens: number;
  seed: number;
  objective?: EnsembleObjective;
  truncationPenalty?: number;
  /** Prompts per progress report. Default 8. */
  promptsPerChunk?: number;
  intraOpThreads?: number;
}

/** The offline evaluation's figures (plain data: it crosses the thread). */
export interface BestOfNSummary {
  n: number;
  prompts: number;
  samples: number;
  /** mean score of one sample (the policy itself) and of the best of n */
  sampleMeanScore: number;
  bestMeanScore: number;
  gain: number;
  /** log n − (n − 1)/n nats */
  klBound: number;
  generatedTokens: number;
  bestTokens: number;
  /** tokens generated per token returned: the serving cost of best-of-n */
  costFactor: number;
  bestLengthMean: number;
  sampleSeconds: number;
  rewardSeconds: number;
}

export function summarizeBestOfN(r: BestOfNResult, n: number, prompts: number): BestOfNSummary {
  return {
    n,
    prompts,
    samples: r.samples,
    sampleMeanScore: r.sampleMeanScore,
    bestMeanScore: r.bestMeanScore,
    gain: r.bestMeanScore - r.sampleMeanScore,
    klBound: r.klBound,
    generatedTokens: r.generatedTokens,
    bestTokens: r.bestTokens,
    costFactor: r.bestTokens > 0 ? r.generatedTokens / r.bestTokens : n,
    bestLengthMean: r.bestTokens / prompts,
    sampleSeconds: r.sampleMs / 1000,
    rewardSeconds: r.rewardMs / 1000,
  };
}

/**
 * Best-of-n over `params.prompts` on a fresh engine for `policy`, one progress report per
 * chunk of prompts (steps 1..chunks of `totalSteps`), cancel between chunks (the error
 * counts `cancelledAt(promptsDone)` steps done). Shared by rejection sampling's selection.
 */
export async function bestOfNWithProgress(
  policy: LoadedArtifact,
  reward: RewardFunction,
  params: Omit<BestOfNProgramParams, 'policyDir' | 'reward'>,
  context: TrainingContext,
  report: { totalSteps?: number; cancelledAt?: (promptsDone: number) => number } = {},
): Promise<BestOfNResult> {
  const perChunk = params.promptsPerChunk ?? 8;
  const chunks = Math.ceil(params.prompts.length / perChunk);
  const engine = await BatchEngine.fromParameters(policy.params, policy.tokenizer, { maxBatch: Math.min(64, perChunk * params.n), ...(params.intraOpThreads !== undefined ? { intraOpThreads: params.intraOpThreads } : {}) });
  const started = performance.now();
  try {
    return await bestOfNInChunks(
      engine,
      reward,
      params.prompts,
      { n: params.n, maxTokens: params.maxTokens, seed: params.seed, ...(params.objective ? { objective: params.objective } : {}), ...(params.truncationPenalty !== undefined ? { truncationPenalty: params.truncationPenalty } : {}) },
      {
        promptsPerChunk: perChunk,
        cancelRequested: () => context.cancelRequested,
        cancelled: (done) => new TrainingCancelledError(report.cancelledAt ? report.cancelledAt(done) : Math.ceil(done / perChunk)),
        onChunk: (done, part) => {
          const step = Math.ceil(done / perChunk);
          context.progress({
            step, totalSteps: report.totalSteps ?? chunks, loss: Number.NaN, lr: 0, gradNorm: Number.NaN,
            metrics: { best_score: part.bestMeanScore, sample_score: part.sampleMeanScore, kl_bound: part.klBound },
            tokensPerSecond: part.generatedTokens / (part.sampleMs / 1000), stepMs: part.sampleMs + part.rewardMs,
            etaSeconds: ((chunks - step) * (performance.now() - started)) / 1000 / step,
          });
        },
      },
    );
  } finally {
    await engine.close();
  }
}

export const trainingProgram: TrainingProgram<BestOfNProgramParams, BestOfNSummary> = {
  async run(params, context) {
    const policy = await readArtifact(params.policyDir);
    const r = await bestOfNWithProgress(policy, await loadReward(params.reward), params, context);
    return summarizeBestOfN(r, params.n, params.prompts.length);
  },
};

export function startBestOfN(params: BestOfNProgramParams, opts: TrainThreadOptions = {}): TrainThread<BestOfNSummary> {
  return TrainThread.start<BestOfNProgramParams, BestOfNSummary>(new URL(import.meta.url), params, opts);
}
