// The reward model's loss: Bradley–Terry on preference pairs, with an optional margin
// (Llama 2, Touvron et al. 2023). The chosen response must score higher: the loss is
// −log σ(r_chosen − r_rejected − margin), which falls as r_chosen − r_rejected rises.
//
// Optional reward centering (Eisenstein et al. 2023, "Helping or Herding?", §3): BT only
// sees differences, so the scores' offset drifts freely; λ·mean((r_c + r_r)²) pins the
// mean score of a pair near 0, so scores of different RM versions (and ensemble members)
// are on comparable scales for PPO.
//
// inputs  tokens (2B, T) int64 — rows [0, B) chosen, rows [B, 2B) rejected, right-padded;
//         lengths (2B) int64 real lengths; margin (B) float (0 for none)
// loss    mean −log σ(r_chosen − r_rejected − margin) + λ·mean((r_c + r_r)²)

import type { Graph, Value } from '../../engine/graph/builder.js';
import type { GptConfig } from '../../engine/gpt/config.js';
import { gptTrunkForward, rewardHeadForward, type GptWeights } from '../../engine/gpt/model.js';
import { chosenRejected, type LossBuilder, type LossGraph } from '../../engine/train/loss.js';

export interface RewardLossOptions {
  /** λ of the centering term λ·mean((r_c + r_r)²); 0 (default) leaves it out of the graph */
  centering?: number;
}

export function rewardLossWith(options: RewardLossOptions = {}): LossBuilder {
  const centering = options.centering ?? 0;
  if (!(Number.isFinite(centering) && centering >= 0)) throw new RangeError(`centering: must be a finite number ≥ 0, got ${centering}`);
  return {
    name: centering > 0 ? 'reward_centered' : 'reward',
    build(g: Graph, weights: GptWeights, config: GptConfig): LossGraph {
      const tokens = g.input('tokens', ['2B', 'T'], 'int64');
      const lengths = g.input('lengths', ['2B'], 'int64');
      const margin = g.input('margin', ['B']);
      const { hidden } = gptTrunkForward(g, tokens, weights, config); // (2B, T, C)
      const rewards = rewardHeadForward(g, hidden, lengths, weights); // (2B)
      const [rc, rr] = chosenRejected(g, rewards); // (B), (B)
      const diff = g.sub(rc, rr); // (B)
      const bt = g.neg(g.reduceMean(g.logSigmoid(g.sub(diff, margin)), [0])); // ()
      const accuracy = g.reduceMean(g.cast(g.greater(diff, g.scalar(0, diff.dtype)), diff.dtype), [0]); // ()
      const metrics: Record<string, Value> = { accuracy, bt_loss: bt, reward_chosen: g.reduceMean(rc, [0]), reward_rejected: g.reduceMean(rr, [0]) };
      if (centering === 0) return { loss: bt, metrics };
      const sum = g.add(rc, rr); // (B)
      const centre = g.reduceMean(g.mul(sum, sum), [0]); // ()
      metrics.centering = centre;
      return { loss: g.add(bt, g.mul(g.scalar(centering, centre.dtype), centre)), metrics };
    },
  };
}

export const rewardLoss: LossBuilder = rewardLossWith();
