// The reward model's loss: Bradley–Terry on preference pairs, with an optional margin
// (Llama 2, Touvron et al. 2023). The chosen response must score higher: the loss is
// −log σ(r_chosen − r_rejected − margin), which falls as r_chosen − r_rejected rises.
//
// inputs  tokens (2B, T) int64 — rows [0, B) chosen, rows [B, 2B) rejected, right-padded;
//         lengths (2B) int64 real lengths; margin (B) float (0 for none)
// loss    mean −log σ(r_chosen − r_rejected − margin)

import type { Graph } from '../../engine/graph/builder.js';
import type { GptConfig } from '../../engine/gpt/config.js';
import { gptTrunkForward, rewardHeadForward, type GptWeights } from '../../engine/gpt/model.js';
import { chosenRejected, type LossBuilder, type LossGraph } from '../../engine/train/loss.js';

export const rewardLoss: LossBuilder = {
  name: 'reward',
  build(g: Graph, weights: GptWeights, config: GptConfig): LossGraph {
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
  },
};
