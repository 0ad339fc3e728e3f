// Direct preference optimization (Rafailov et al. 2023, eq. 7): the policy's log-ratio to
// the frozen reference on the chosen completion must exceed the one on the rejected.
//
// inputs  tokens, targets (2B, T) int64 and loss_mask (2B, T) float — rows [0, B) chosen,
//         [B, 2B) rejected; ref_chosen_logprobs, ref_rejected_logprobs (B) float: Σ log p_ref
//         over the completion; beta () float
// loss    mean −log σ(β[(log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l))])

import type { Graph } from '../../engine/graph/builder.js';
import type { GptConfig } from '../../engine/gpt/config.js';
import { gptTrunkForward, lmHeadForward, targetLogprobsForward, type GptWeights } from '../../engine/gpt/model.js';
import { chosenRejected, type LossBuilder, type LossGraph } from '../../engine/train/loss.js';

export const dpoLoss: LossBuilder = {
  name: 'dpo',
  build(g: Graph, weights: GptWeights, config: GptConfig): LossGraph {
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
  },
};
