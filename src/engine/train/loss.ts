// The training seam. The engine builds the training graph around a loss it does not know:
// a LossBuilder declares its batch inputs (graph inputs other than the weights), runs the
// model forward from gpt/model.ts (trunk, LM head, value head, reward head) and puts its
// loss on top; buildTrainGraph (train-graph.ts) differentiates that loss through the shared
// trunk. The algorithms — SFT, the reward model, PPO, DPO — live in src/rlhf and pass
// their builders in (llm.c keeps the training loop outside the model code the same way).
//
// The batch contract between a loss and train-step.ts: int64 inputs are named `tokens`,
// `targets` (token ids, range-checked against the vocabulary) or `lengths` (real lengths,
// in [1, T]); every other input is float. Shapes use the symbols B, 2B (chosen rows then
// rejected rows) and T, which validateBatch checks for consistency across inputs.

import type { Graph, Value } from '../graph/builder.js';
import type { GptConfig } from '../gpt/config.js';
import type { GptWeights } from '../gpt/model.js';

export interface LossGraph {
  /** Scalar loss that is differentiated. */
  loss: Value;
  /** Scalar diagnostics returned with every step (not differentiated). */
  metrics: Record<string, Value>;
}

export interface LossBuilder {
  /** Names the graph (`gpt_train_<name>`) and the loss in logs; e.g. 'sft', 'reward'. */
  readonly name: string;
  /** Declares the batch inputs on `g`, builds the forward over `weights` and returns the loss. */
  build(g: Graph, weights: GptWeights, config: GptConfig): LossGraph;
}

/** Σ x·mask / max(Σ mask, 1): a mean over the positions that count. () */
export function maskedMean(g: Graph, x: Value, mask: Value): Value {
  const count = g.max(g.sumAll(mask), g.scalar(1, mask.dtype));
  return g.div(g.sumAll(g.mul(x, mask)), count);
}

/** Splits a (2B) vector into its chosen (first B) and rejected (last B) halves. */
export function chosenRejected(g: Graph, pairs: Value): [Value, Value] {
  const halves = g.reshape(pairs, [2, -1]); // (2, B)
  const [c, r] = g.split(halves, 0, [1, 1]); // 2 × (1, B)
  return [g.squeeze(c!, [0]), g.squeeze(r!, [0])]; // 2 × (B)
}
