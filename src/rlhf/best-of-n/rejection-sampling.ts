// Rejection-sampling fine-tuning (Touvron et al. 2023, Llama 2 §3.2.3; Dong et al. 2023,
// RAFT): best-of-n on the prompt set, then SFT on the winners with the SFT loss (masked
// cross-entropy on the response tokens). A PPO baseline on the same reward and prompts.

import type { GptConfig, ParameterSet } from '../../engine/gpt/config.js';
import { Rng } from '../../engine/rng.js';
import { BatchEngine } from '../../engine/runtime/batch-engine.js';
import type { BpeTokenizer } from '../../engine/tokenizer/bpe-tokenizer.js';
import { Trainer, type TrainProgress } from '../../engine/train/trainer.js';
import { TrainingCancelledError } from '../../engine/train/training-program.js';
import { sftLoss } from '../sft/sft.loss.js';
import { sftBatch } from '../sft/train-base.js';
import type { PolicyResponse, RewardFunction } from '../ppo/reward-function.js';
import { encodeUserPrompt } from '../ppo/rollout.js';
import { bestOfN, type BestOfNOptions, type BestOfNResult } from './best-of-n.js';

export interface RejectionSamplingOptions extends BestOfNOptions {
  /** SFT optimizer steps on the winners. */
  steps: number;
  batchSize?: number;
  /** Constant learning rate. Default 1e-4. */
  lr?: number;
  intraOpThreads?: number;
}

export interface RejectionSamplingResult {
  params: ParameterSet;
  selection: BestOfNResult;
  losses: number[];
}

export interface FineTuneHooks {
  /** After every optimizer step. */
  onProgress?: (p: TrainProgress) => void;
  /** Read before every step; true stops with TrainingCancelledError. */
  cancelRequested?: () => boolean;
}

export async function rejectionSamplingFineTune(
  input: { config: GptConfig; tokenizer: BpeTokenizer; policy: ParameterSet; reward: RewardFunction; prompts: readonly string[] },
  opts: RejectionSamplingOptions,
): Promise<RejectionSamplingResult> {
  if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new RangeError(`steps: must be a positive integer, got ${opts.steps}`);
  const sessionOpts = opts.intraOpThreads !== undefined ? { intraOpThreads: opts.intraOpThreads } : {};
  const engine = await BatchEngine.fromParameters(input.policy, input.tokenizer, { maxBatch: Math.min(64, input.prompts.length * opts.n), ...sessionOpts });
  let selection: BestOfNResult;
  try {
    selection = await bestOfN(engine, input.reward, input.prompts, opts);
  } finally {
    await engine.close();
  }
  const { params, losses } = await fineTuneOnWinners({ ...input, winners: selection.best }, opts);
  return { params, selection, losses };
}

/** SFT (masked cross-entropy on the response tokens) on prompt i → winners[i], from `policy` (copied). */
export async function fineTuneOnWinners(
  input: { config: GptConfig; tokenizer: BpeTokenizer; policy: ParameterSet; prompts: readonly string[]; winners: readonly Pick<PolicyResponse, 'tokenIds'>[] },
  opts: Pick<RejectionSamplingOptions, 'steps' | 'batchSize' | 'lr' | 'seed' | 'intraOpThreads'>,
  hooks: FineTuneHooks = {},
): Promise<{ params: ParameterSet; losses: number[] }> {
  if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new RangeError(`steps: must be a positive integer, got ${opts.steps}`);
  if (input.winners.length !== input.prompts.length) throw new RangeError(`winners: ${input.winners.length} for ${input.prompts.length} prompts`);
  const sessionOpts = opts.intraOpThreads !== undefined ? { intraOpThreads: opts.intraOpThreads } : {};
  const examples = input.prompts.map((p, i) => {
    const prompt = encodeUserPrompt(input.tokenizer, p);
    return { ids: Int32Array.from([...prompt, ...input.winners[i]!.tokenIds]), promptLength: prompt.length };
  });
  const params = input.policy.clone();
  const lr = opts.lr ?? 1e-4;
  const trainer = await Trainer.create(input.config, sftLoss, params, {
    schedule: { maxLr: lr, minLr: lr, warmupSteps: 0, totalSteps: opts.steps },
    ...sessionOpts,
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
  });
  const batchSize = Math.min(opts.batchSize ?? 16, examples.length);
  const rng = new Rng(opts.seed ^ 0x2b);
  const padId = input.tokenizer.specialId('<|pad|>');
  const losses: number[] = [];
  let order: number[] = [];
  for (let s = 0; s < opts.steps; s++) {
    if (hooks.cancelRequested?.()) throw new TrainingCancelledError(s);
    if (order.length < batchSize) order = rng.shuffle(Array.from(examples.keys()));
    const picked = order.splice(0, batchSize).map((i) => examples[i]!);
    losses.push((await trainer.trainStep([sftBatch(picked, padId)])).loss);
  }
  return { params, losses };
}
