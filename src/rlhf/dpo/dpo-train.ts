// DPO training (Rafailov et al. 2023) on preference pairs: the reference is the starting
// policy (frozen), its sequence log-probs computed once with the scoring graph; the loss
// (dpo.loss.ts) is −log σ(β[(log π − log π_ref)(y_w) − (log π − log π_ref)(y_l)]).
// The implicit reward of a response is β·(log π(y|x) − log π_ref(y|x)) (eq. 5, up to the
// prompt-only partition term, which cancels within a pair).
//
// As TRL's DPOTrainer: the reference log-probs are precomputed (precompute_ref_log_probs),
// sums over response tokens (not means), chosen rows first then rejected rows in a batch.

import type { GptConfig, ParameterSet } from '../../engine/gpt/config.js';
import { Rng } from '../../engine/rng.js';
import type { BpeTokenizer } from '../../engine/tokenizer/bpe-tokenizer.js';
import { GptScorer } from '../../engine/train/scorer.js';
import type { Batch } from '../../engine/train/train-step.js';
import { Trainer, type TrainProgress } from '../../engine/train/trainer.js';
import { TrainingCancelledError } from '../../engine/train/training-program.js';
import { encodeUserPrompt, scoreResponses } from '../ppo/rollout.js';
import { dpoLoss } from './dpo.loss.js';

export interface PreferencePairText {
  prompt: string;
  chosen: string;
  rejected: string;
}

export interface DpoOptions {
  beta: number;
  steps: number;
  /** Pairs per optimizer step. Default 8. */
  batchSize?: number;
  /** Constant learning rate. Default 1e-4. */
  lr?: number;
  seed: number;
  intraOpThreads?: number;
  /** Called after every optimizer step. */
  onProgress?: (p: TrainProgress) => void;
  /** Read before every step; true stops the run with TrainingCancelledError. */
  cancelRequested?: () => boolean;
}

interface EncodedPair {
  prompt: number[];
  chosen: number[];
  rejected: number[];
  refChosen: number;
  refRejected: number;
}

/** Response ids as the policy writes them: the text, then the end-of-turn token. */
export function encodeResponse(tokenizer: BpeTokenizer, text: string): number[] {
  return tokenizer.encodeSegments([{ text }, { special: '<|end|>' }]);
}

/** Σ log π(y|x) over each response's tokens. */
export async function sequenceLogprobs(scorer: GptScorer, params: ParameterSet, prompts: number[][], responses: number[][], padId: number): Promise<number[]> {
  const s = await scoreResponses(scorer, params, prompts, responses, padId);
  return s.logprobs.map((row) => row.reduce((a, b) => a + b, 0));
}

/** β·(log π − log π_ref) of each (prompt, response). */
export async function implicitRewards(
  models: { scorer: GptScorer; policy: ParameterSet; reference: ParameterSet; tokenizer: BpeTokenizer },
  items: { prompt: string; response: string }[],
  beta: number,
): Promise<number[]> {
  const pad = models.tokenizer.specialId('<|pad|>');
  const prompts = items.map((i) => encodeUserPrompt(models.tokenizer, i.prompt));
  const responses = items.map((i) => encodeResponse(models.tokenizer, i.response));
  const pol = await sequenceLogprobs(models.scorer, models.policy, prompts, responses, pad);
  const ref = await sequenceLogprobs(models.scorer, models.reference, prompts, responses, pad);
  return pol.map((p, i) => beta * (p - ref[i]!));
}

function dpoBatch(pairs: EncodedPair[], padId: number, beta: number): Batch {
  const rows = [...pairs.map((p) => [p.prompt, p.chosen] as const), ...pairs.map((p) => [p.prompt, p.rejected] as const)];
  const R = rows.length;
  const T = Math.max(...rows.map(([p, r]) => p.length + r.length)) - 1;
  const tokens = new BigInt64Array(R * T).fill(BigInt(padId));
  const targets = new BigInt64Array(R * T).fill(BigInt(padId));
  const mask = new Float32Array(R * T);
  rows.forEach(([p, r], b) => {
    const seq = [...p, ...r];
    for (let t = 0; t + 1 < seq.length; t++) {
      tokens[b * T + t] = BigInt(seq[t]!);
      targets[b * T + t] = BigInt(seq[t + 1]!);
      if (t + 1 >= p.length) mask[b * T + t] = 1;
    }
  });
  return {
    tokens: { data: tokens, shape: [R, T] },
    targets: { data: targets, shape: [R, T] },
    loss_mask: { data: mask, shape: [R, T] },
    ref_chosen_logprobs: { data: Float32Array.from(pairs.map((p) => p.refChosen)), shape: [pairs.length] },
    ref_rejected_logprobs: { data: Float32Array.from(pairs.map((p) => p.refRejected)), shape: [pairs.length] },
    beta,
  };
}

export interface DpoResult {
  params: ParameterSet;
  losses: number[];
  accuracies: number[];
  margins: number[];
}

export async function trainDpo(
  input: { config: GptConfig; tokenizer: BpeTokenizer; policy: ParameterSet; reference?: ParameterSet; pairs: readonly PreferencePairText[] },
  opts: DpoOptions,
): Promise<DpoResult> {
  if (input.pairs.length === 0) throw new RangeError('pairs: need at least one preference pair');
  if (!(opts.beta > 0)) throw new RangeError(`beta: must be > 0, got ${opts.beta}`);
  if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new RangeError(`steps: must be a positive integer, got ${opts.steps}`);
  const sessionOpts = opts.intraOpThreads !== undefined ? { intraOpThreads: opts.intraOpThreads } : {};
  const { tokenizer } = input;
  const padId = tokenizer.specialId('<|pad|>');
  const reference = input.reference ?? input.policy;
  const scorer = await GptScorer.create(input.config, sessionOpts);
  const prompts = input.pairs.map((p) => encodeUserPrompt(tokenizer, p.prompt));
  const chosen = input.pairs.map((p) => encodeResponse(tokenizer, p.chosen));
  const rejected = input.pairs.map((p) => encodeResponse(tokenizer, p.rejected));
  const refChosen = await sequenceLogprobs(scorer, reference, prompts, chosen, padId);
  const refRejected = await sequenceLogprobs(scorer, reference, prompts, rejected, padId);
  const encoded: EncodedPair[] = prompts.map((prompt, i) => ({ prompt, chosen: chosen[i]!, rejected: rejected[i]!, refChosen: refChosen[i]!, refRejected: refRejected[i]! }));

  const params = input.policy.clone();
  const lr = opts.lr ?? 1e-4;
  const trainer = await Trainer.create(input.config, dpoLoss, params, {
    schedule: { maxLr: lr, minLr: lr, warmupSteps: 0, totalSteps: opts.steps },
    ...sessionOpts,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  const batchSize = Math.min(opts.batchSize ?? 8, encoded.length);
  const rng = new Rng(opts.seed);
  const out: DpoResult = { params, losses: [], accuracies: [], margins: [] };
  let order: number[] = [];
  for (let s = 0; s < opts.steps; s++) {
    if (opts.cancelRequested?.()) throw new TrainingCancelledError(s);
    if (order.length < batchSize) order = rng.shuffle(Array.from(encoded.keys()));
    const p = await trainer.trainStep([dpoBatch(order.splice(0, batchSize).map((i) => encoded[i]!), padId, opts.beta)]);
    out.losses.push(p.loss);
    out.accuracies.push(p.metrics.accuracy!);
    out.margins.push(p.metrics.reward_margin!);
  }
  return out;
}
