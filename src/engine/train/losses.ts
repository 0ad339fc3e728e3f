// The loss-specific ends of the training graph. Each builds the SAME model forward
// (gptTrunkForward + heads from gpt/model.ts) and puts its loss on top; autodiff derives
// one backward through the shared trunk. Graph input names are the contract with the
// trainers in src/rlhf (batch fields are fed by these names):
//
// sft     tokens (B, T) int64, targets (B, T) int64 (next token at each position),
//         loss_mask (B, T) float (1 on completion tokens to learn, 0 on prompt / padding)
//         → loss = −Σ mask·log p(target) / Σ mask
// reward  tokens (2B, T) int64 — rows [0, B) chosen, rows [B, 2B) rejected, right-padded;
//         lengths (2B) int64 real lengths; margin (B) float (0 for none)
//         → loss = mean −log σ(r_chosen − r_rejected − margin)   (Bradley–Terry; margin: Llama 2, Touvron et al. 2023)
// ppo     tokens, targets (B, T) int64; action_mask (B, T) float (1 on generated tokens);
//         old_logprobs, advantages, returns, old_values (B, T) float, aligned with targets;
//         clip_eps, value_clip, value_coef, entropy_coef () float scalars
//         → loss = pg_loss + value_coef·value_loss − entropy_coef·entropy   (Schulman et al. 2017, eq. 7 and 9)
// dpo     tokens, targets (2B, T) int64 and loss_mask (2B, T) float — rows [0, B) chosen, [B, 2B) rejected;
//         ref_chosen_logprobs, ref_rejected_logprobs (B) float: Σ log p_ref over the completion;
//         beta () float
//         → loss = mean −log σ(β[(log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l))])   (Rafailov et al. 2023, eq. 7)

import { Graph, Value } from '../graph/builder.js';
import { GptConfig } from '../gpt/config.js';
import { GptWeights, gptTrunkForward, lmHeadForward, rewardHeadForward, targetLogprobsForward, valueHeadForward } from '../gpt/model.js';

export type LossKind = 'sft' | 'reward' | 'ppo' | 'dpo';
export const LOSS_KINDS: readonly LossKind[] = ['sft', 'reward', 'ppo', 'dpo'];

export interface LossGraph {
  /** Scalar loss that is differentiated. */
  loss: Value;
  /** Scalar diagnostics returned with every step (not differentiated). */
  metrics: Record<string, Value>;
}

/** Σ x·mask / max(Σ mask, 1): a mean over the positions that count. */
function maskedMean(g: Graph, x: Value, mask: Value): Value {
  const count = g.max(g.sumAll(mask), g.scalar(1, mask.dtype));
  return g.div(g.sumAll(g.mul(x, mask)), count);
}

/** Splits a (2B) vector into its chosen (first B) and rejected (last B) halves. */
function chosenRejected(g: Graph, pairs: Value): [Value, Value] {
  const halves = g.reshape(pairs, [2, -1]); // (2, B)
  const [c, r] = g.split(halves, 0, [1, 1]); // 2 × (1, B)
  return [g.squeeze(c!, [0]), g.squeeze(r!, [0])]; // 2 × (B)
}

export function sftLoss(g: Graph, weights: GptWeights, config: GptConfig): LossGraph {
  const tokens = g.input('tokens', ['B', 'T'], 'int64');
  const targets = g.input('targets', ['B', 'T'], 'int64');
  const lossMask = g.input('loss_mask', ['B', 'T']);
  const { hidden } = gptTrunkForward(g, tokens, weights, config); // (B, T, C)
  const logits = lmHeadForward(g, hidden, weights); // (B, T, V)
  const { picked } = targetLogprobsForward(g, logits, targets); // (B, T)
  const loss = g.neg(maskedMean(g, picked, lossMask)); // ()
  return { loss, metrics: { target_tokens: g.sumAll(lossMask) } };
}

export function rewardLoss(g: Graph, weights: GptWeights, config: GptConfig): LossGraph {
  const tokens = g.input('tokens', ['2B', 'T'], 'int64');
  const lengths = g.input('lengths', ['2B'], 'int64');
  const margin = g.input('margin', ['B']);
  const { hidden } = gptTrunkForward(g, tokens, weights, config); // (2B, T, C)
  const rewards = rewardHeadForward(g, hidden, lengths, weights); // (2B)
  const [rc, rr] = chosenRejected(g, rewards); // (B), (B)
  const diff = g.sub(rc, rr); // (B)
  const loss = g.neg(g.reduceMean(g.logSigmoid(g.sub(diff, margin)), [0])); // ()
  const accuracy = g.reduceMean(g.cast(g.greater(diff, g.scalar(0, diff.dtype)), diff.dtype), [0]); // ()
  return {
    loss,
    metrics: { accuracy, reward_chosen: g.reduceMean(rc, [0]), reward_rejected: g.reduceMean(rr, [0]) },
  };
}

export function ppoLoss(g: Graph, weights: GptWeights, config: GptConfig): LossGraph {
  const tokens = g.input('tokens', ['B', 'T'], 'int64');
  const targets = g.input('targets', ['B', 'T'], 'int64');
  const mask = g.input('action_mask', ['B', 'T']);
  const oldLogprobs = g.input('old_logprobs', ['B', 'T']);
  const advantages = g.input('advantages', ['B', 'T']);
  const returns = g.input('returns', ['B', 'T']);
  const oldValues = g.input('old_values', ['B', 'T']);
  const clipEps = g.input('clip_eps', []);
  const valueClip = g.input('value_clip', []);
  const valueCoef = g.input('value_coef', []);
  const entropyCoef = g.input('entropy_coef', []);
  const one = g.scalar(1);

  const { hidden } = gptTrunkForward(g, tokens, weights, config); // (B, T, C)
  const logits = lmHeadForward(g, hidden, weights); // (B, T, V)
  const { logprobs, picked } = targetLogprobsForward(g, logits, targets); // (B, T, V), (B, T)
  const values = valueHeadForward(g, hidden, weights); // (B, T)

  // Clipped surrogate: max(−A·ρ, −A·clip(ρ, 1−ε, 1+ε)), ρ = π/π_old.
  const ratio = g.exp(g.sub(picked, oldLogprobs)); // (B, T)
  const clippedRatio = g.min(g.max(ratio, g.sub(one, clipEps)), g.add(one, clipEps)); // (B, T)
  const pgLosses = g.max(g.neg(g.mul(advantages, ratio)), g.neg(g.mul(advantages, clippedRatio))); // (B, T)
  const pgLoss = maskedMean(g, pgLosses, mask); // ()

  // Clipped value loss (the PPO2 / OpenAI baselines form): ½·max((v−R)², (v_clip−R)²).
  const valuesClipped = g.add(oldValues, g.min(g.max(g.sub(values, oldValues), g.neg(valueClip)), valueClip)); // (B, T)
  const vErr = g.sub(values, returns); // (B, T)
  const vErrClipped = g.sub(valuesClipped, returns); // (B, T)
  const valueLoss = g.mul(g.scalar(0.5), maskedMean(g, g.max(g.mul(vErr, vErr), g.mul(vErrClipped, vErrClipped)), mask)); // ()

  const entropyPerToken = g.neg(g.reduceSum(g.mul(g.exp(logprobs), logprobs), [-1])); // (B, T)
  const entropy = maskedMean(g, entropyPerToken, mask); // ()

  const loss = g.sub(g.add(pgLoss, g.mul(valueCoef, valueLoss)), g.mul(entropyCoef, entropy)); // ()
  const clipped = g.cast(g.greater(g.abs(g.sub(ratio, one)), clipEps), ratio.dtype); // (B, T)
  return {
    loss,
    metrics: {
      pg_loss: pgLoss,
      value_loss: valueLoss,
      entropy,
      clip_fraction: maskedMean(g, clipped, mask),
      approx_kl: maskedMean(g, g.sub(oldLogprobs, picked), mask),
    },
  };
}

export function dpoLoss(g: Graph, weights: GptWeights, config: GptConfig): LossGraph {
  const tokens = g.input('tokens', ['2B', 'T'], 'int64');
  const targets = g.input('targets', ['2B', 'T'], 'int64');
  const lossMask = g.input('loss_mask', ['2B', 'T']);
  const refChosen = g.input('ref_chosen_logprobs', ['B']);
  const refRejected = g.input('ref_rejected_logprobs', ['B']);
  const beta = g.input('beta', []);
  const { hidden } = gptTrunkForward(g, tokens, weights, config); // (2B, T, C)
  const logits = lmHeadForward(g, hidden, weights); // (2B, T, V)
  const { picked } = targetLogprobsForward(g, logits, targets); // (2B, T)
  const seqLogprobs = g.reduceSum(g.mul(picked, lossMask), [1]); // (2B)
  const [pc, pr] = chosenRejected(g, seqLogprobs); // (B), (B)
  const chosenMargin = g.sub(pc, refChosen); // (B)  log π/π_ref on the chosen completion
  const rejectedMargin = g.sub(pr, refRejected); // (B)
  const z = g.mul(beta, g.sub(chosenMargin, rejectedMargin)); // (B)
  const loss = g.neg(g.reduceMean(g.logSigmoid(z), [0])); // ()
  return {
    loss,
    metrics: {
      accuracy: g.reduceMean(g.cast(g.greater(z, g.scalar(0)), z.dtype), [0]),
      reward_margin: g.reduceMean(z, [0]),
    },
  };
}

export const LOSS_BUILDERS: Record<LossKind, (g: Graph, weights: GptWeights, config: GptConfig) => LossGraph> = {
  sft: sftLoss,
  reward: rewardLoss,
  ppo: ppoLoss,
  dpo: dpoLoss,
};
