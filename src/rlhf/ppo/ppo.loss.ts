// PPO's loss on a batch of rollouts (Schulman et al. 2017, eq. 7 and 9): the clipped
// surrogate, a clipped value loss and an entropy bonus, over generated tokens only.
//
// inputs  tokens, targets (B, T) int64; action_mask (B, T) float (1 on generated tokens);
//         old_logprobs, advantages, returns, old_values (B, T) float, aligned with targets;
//         clip_eps, value_clip, value_coef, entropy_coef () float scalars
// loss    pg_loss + value_coef·value_loss − entropy_coef·entropy

import type { Graph } from '../../engine/graph/builder.js';
import type { GptConfig } from '../../engine/gpt/config.js';
import { gptTrunkForward, lmHeadForward, targetLogprobsForward, valueHeadForward, type GptWeights } from '../../engine/gpt/model.js';
import { maskedMean, type LossBuilder, type LossGraph } from '../../engine/train/loss.js';

export const ppoLoss: LossBuilder = {
  name: 'ppo',
  build(g: Graph, weights: GptWeights, config: GptConfig): LossGraph {
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
  },
};
