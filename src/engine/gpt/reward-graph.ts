// Reward scoring graphs: the GPT trunk and its reward head, read at each row's last real
// token — nothing else (no LM head over the vocabulary, no value head), so scoring a
// response costs the trunk alone.
//
// Dimension legend: K ensemble members, B rows, T longest row, C channels.
//
// CONTRACT (the reward artifact and runtime/reward-scorer.ts depend on these names):
//   inputs   tokens  int64  (B, T)  prompt + response, right-padded (pads are never read:
//                                   attention is causal and the head reads lengths[b] − 1)
//            lengths int64  (B)     real length of each row, 1 ≤ lengths[b] ≤ T
//   outputs  scores  float  (K, B)  member k's reward of row b
//
// Two forms: `buildRewardGraph` takes one member's weights as graph INPUTS (one session
// scores any parameter blob: held-out evaluation during training), and
// `buildEnsembleRewardGraph` bakes every member's weights in as initializers
// (`member<k>.<param>`), the servable scoring graph an RM artifact ships.

import { encodeModel, type FloatType, Graph, type Value } from '../graph/builder.js';
import { ShapeError } from '../errors.js';
import { type GptConfig, gptParameterLayout, ParameterSet } from './config.js';
import { gptTrunkForward, rewardHeadForward, weightInputs, type GptWeights } from './model.js';

export const memberParameterName = (member: number, name: string): string => `member${member}.${name}`;

/** One member's rewards. tokens (B, T) int64, lengths (B) int64 → (B) */
export function rewardScoresForward(g: Graph, tokens: Value, lengths: Value, weights: GptWeights, config: GptConfig): Value {
  const { hidden } = gptTrunkForward(g, tokens, weights, config); // (B, T, C)
  return rewardHeadForward(g, hidden, lengths, weights); // (B)
}

/** One member with its weights as graph inputs (named as in gptParameterLayout); outputs scores (1, B). */
export function buildRewardGraph(config: GptConfig, floatType: FloatType = 'float32'): Graph {
  const g = new Graph(floatType, 'gpt_reward');
  const weights = weightInputs(g, config);
  const tokens = g.input('tokens', ['B', 'T'], 'int64');
  const lengths = g.input('lengths', ['B'], 'int64');
  g.output('scores', g.unsqueeze(rewardScoresForward(g, tokens, lengths, weights, config), [0])); // (1, B)
  return g;
}

/** K members with their weights baked in; outputs scores (K, B). Every member shares one config. */
export function buildEnsembleRewardGraph(members: readonly ParameterSet[]): Graph {
  if (members.length === 0) throw new ShapeError('members', 'at least one parameter set', '0');
  const config = members[0]!.config;
  const g = new Graph('float32', 'gpt_reward_ensemble');
  const tokens = g.input('tokens', ['B', 'T'], 'int64');
  const lengths = g.input('lengths', ['B'], 'int64');
  const perMember: Value[] = [];
  members.forEach((params, k) => {
    if (gptParameterLayout(params.config).length !== params.layout.length || JSON.stringify(params.config) !== JSON.stringify(config)) {
      throw new ShapeError(`members[${k}]`, `a parameter set for ${JSON.stringify(config)}`, JSON.stringify(params.config));
    }
    const weights = new Map<string, Value>();
    for (const spec of params.layout) {
      weights.set(spec.name, g.initializer(memberParameterName(k, spec.name), { dtype: 'float32', shape: spec.shape, values: params.view(spec.name) }));
    }
    perMember.push(g.unsqueeze(rewardScoresForward(g, tokens, lengths, weights, config), [0])); // (1, B)
  });
  g.output('scores', perMember.length === 1 ? perMember[0]! : g.concat(perMember, 0)); // (K, B)
  return g;
}

/** The serialized ensemble scoring graph (.onnx with the weights), the GPT config and K as metadata. */
export function exportRewardGraph(members: readonly ParameterSet[]): Uint8Array {
  const graph = buildEnsembleRewardGraph(members);
  const proto = graph.toModelProto('outerloop GPT reward model');
  const config = members[0]!.config;
  proto.metadataProps = [
    ...Object.entries(config).map(([key, value]) => ({ key: `outerloop.gpt.${key}`, value: String(value) })),
    { key: 'outerloop.reward.members', value: String(members.length) },
  ];
  return encodeModel(proto);
}
