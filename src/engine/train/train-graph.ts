// The training-step graph: weights as graph INPUTS (so one ORT session serves every
// step — the weights change, the graph does not) + a batch → loss, metrics and the
// gradient of the loss with respect to every parameter tensor. The loss is a parameter
// (a LossBuilder, loss.ts): the engine derives the backward of whatever loss it is given.
//
// Outputs: `loss` (), one output per metric (), and `grad.<param name>` with each
// parameter's shape. The scoring graph is the same forward without a loss: per-token
// log-probs of given targets, values and rewards, used for PPO rollouts (old log-probs,
// reference log-probs, values) and for RM evaluation.

import { FloatType, Graph } from '../graph/builder.js';
import { gradients } from '../graph/autodiff.js';
import { GptConfig, gptParameterLayout } from '../gpt/config.js';
import { gptTrunkForward, lmHeadForward, rewardHeadForward, targetLogprobsForward, valueHeadForward, weightInputs } from '../gpt/model.js';
import type { LossBuilder } from './loss.js';

export const GRAD_PREFIX = 'grad.';

export interface TrainGraph {
  graph: Graph;
  /** The LossBuilder's name. */
  lossName: string;
  /** Names of the batch inputs (everything but the weights), in declaration order. */
  batchInputs: string[];
  metricNames: string[];
  paramNames: string[];
}

export function buildTrainGraph(config: GptConfig, loss: LossBuilder, floatType: FloatType = 'float32'): TrainGraph {
  const g = new Graph(floatType, `gpt_train_${loss.name}`);
  const weights = weightInputs(g, config);
  const paramNames = gptParameterLayout(config).map((s) => s.name);
  const { loss: lossValue, metrics } = loss.build(g, weights, config);
  const grads = gradients(g, [lossValue], paramNames.map((n) => weights.get(n)!));
  g.output('loss', lossValue);
  for (const [name, v] of Object.entries(metrics)) g.output(name, v);
  paramNames.forEach((n, i) => g.output(GRAD_PREFIX + n, grads[i]!));
  const weightSet = new Set(paramNames);
  return {
    graph: g,
    lossName: loss.name,
    batchInputs: g.inputs.map((v) => v.name).filter((n) => !weightSet.has(n)),
    metricNames: Object.keys(metrics),
    paramNames,
  };
}

/**
 * Scoring (no gradient): inputs tokens, targets (B, T) int64 and lengths (B) int64;
 * outputs `logprobs` (B, T) = log p(targets), `values` (B, T), `rewards` (B) at each
 * row's last real token, `entropy` (B, T).
 */
export function buildScoringGraph(config: GptConfig, floatType: FloatType = 'float32'): Graph {
  const g = new Graph(floatType, 'gpt_score');
  const weights = weightInputs(g, config);
  const tokens = g.input('tokens', ['B', 'T'], 'int64');
  const targets = g.input('targets', ['B', 'T'], 'int64');
  const lengths = g.input('lengths', ['B'], 'int64');
  const { hidden } = gptTrunkForward(g, tokens, weights, config); // (B, T, C)
  const logits = lmHeadForward(g, hidden, weights); // (B, T, V)
  const { logprobs, picked } = targetLogprobsForward(g, logits, targets); // (B, T, V), (B, T)
  g.output('logprobs', picked);
  g.output('values', valueHeadForward(g, hidden, weights));
  g.output('rewards', rewardHeadForward(g, hidden, lengths, weights));
  g.output('entropy', g.neg(g.reduceSum(g.mul(g.exp(logprobs), logprobs), [-1])));
  return g;
}

/** Forward only: logits (B, T, V) at every position, for reference tests. Input tokens (B, T). */
export function buildLogitsGraph(config: GptConfig, floatType: FloatType = 'float32'): Graph {
  const g = new Graph(floatType, 'gpt_logits');
  const weights = weightInputs(g, config);
  const tokens = g.input('tokens', ['B', 'T'], 'int64');
  const { hidden } = gptTrunkForward(g, tokens, weights, config);
  g.output('logits', lmHeadForward(g, hidden, weights));
  return g;
}
