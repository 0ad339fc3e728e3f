// Supervised fine-tuning: masked next-token cross-entropy (InstructGPT, Ouyang et al.
// 2022, §3.5 — the prompt is context, only the completion is learned).
//
// inputs  tokens (B, T) int64, targets (B, T) int64 (next token at each position),
//         loss_mask (B, T) float (1 on completion tokens to learn, 0 on prompt / padding)
// loss    −Σ mask·log p(target) / Σ mask

import type { Graph } from '../../engine/graph/builder.js';
import type { GptConfig } from '../../engine/gpt/config.js';
import { gptTrunkForward, lmHeadForward, targetLogprobsForward, type GptWeights } from '../../engine/gpt/model.js';
import { maskedMean, type LossBuilder, type LossGraph } from '../../engine/train/loss.js';

export const sftLoss: LossBuilder = {
  name: 'sft',
  build(g: Graph, weights: GptWeights, config: GptConfig): LossGraph {
    const tokens = g.input('tokens', ['B', 'T'], 'int64');
    const targets = g.input('targets', ['B', 'T'], 'int64');
    const lossMask = g.input('loss_mask', ['B', 'T']);
    const { hidden } = gptTrunkForward(g, tokens, weights, config); // (B, T, C)
    const logits = lmHeadForward(g, hidden, weights); // (B, T, V)
    const { picked } = targetLogprobsForward(g, logits, targets); // (B, T)
    const loss = g.neg(maskedMean(g, picked, lossMask)); // ()
    return { loss, metrics: { target_tokens: g.sumAll(lossMask) } };
  },
};
