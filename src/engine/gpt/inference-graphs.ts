// Inference graphs for serving: prefill and decode with a KV cache. Same forward as
// training (gpt/model.ts), but the weights are baked in as initializers so ORT's graph
// optimizations (constant folding, MatMul+Add fusion, …) apply.
//
// Dimension legend: B batch, T prompt length, P cache capacity, C channels, V vocab,
// L layers, NH heads, HS head size.
//
// CONTRACT (the batched runtime, sampling and artifact code depend on these names):
//
// prefill
//   inputs   tokens   int64   (B, T)   prompts, right-padded (pad id is irrelevant: causal
//                                     attention never lets a real token see a later pad)
//            lengths  int64   (B)      real length of each row, 1 ≤ lengths[b] ≤ T
//   outputs  logits        float32 (B, V)          at each row's last real token (lengths[b] − 1)
//            present_k_<i> float32 (B, NH, T, HS)  keys of every position, layer i = 0 … L−1
//            present_v_<i> float32 (B, NH, T, HS)  values; slots ≥ lengths[b] hold pad entries
//                                                  the runtime must mask out (or overwrite)
// decode
//   inputs   tokens     int64   (B)              the newest token of each row
//            positions  int64   (B)              its position (0-based; < maxSeqLen)
//            past_k_<i> float32 (B, NH, P, HS)   the runtime's cache, P symbolic
//            past_v_<i> float32 (B, NH, P, HS)
//            past_mask  float32 (B, P)           additive: 0 = attend, −1e9 = ignore (empty or
//                                                pad slots), so rows of different lengths share a step
//   outputs  logits     float32 (B, V)
//            new_k_<i>  float32 (B, NH, 1, HS)   to be written by the runtime at each row's position
//            new_v_<i>  float32 (B, NH, 1, HS)
//   The new token always attends to itself in addition to the unmasked past slots.

import { FloatType, Graph, Value, encodeModel } from '../graph/builder.js';
import { ShapeError } from '../errors.js';
import { GptConfig, ParameterSet, headSize } from './config.js';
import { gatherLastHidden, gptTrunkForward, lmHeadForward, PastKeyValues } from './model.js';

export const PREFILL_INPUTS = ['tokens', 'lengths'] as const;
export const DECODE_INPUTS = ['tokens', 'positions', 'past_mask'] as const;
export const presentKey = (layer: number): string => `present_k_${layer}`;
export const presentValue = (layer: number): string => `present_v_${layer}`;
export const pastKey = (layer: number): string => `past_k_${layer}`;
export const pastValue = (layer: number): string => `past_v_${layer}`;
export const newKey = (layer: number): string => `new_k_${layer}`;
export const newValue = (layer: number): string => `new_v_${layer}`;

/** Every parameter as an initializer over the blob (a view: serialization copies it once). */
function weightInitializers(g: Graph, params: ParameterSet): Map<string, Value> {
  const m = new Map<string, Value>();
  for (const spec of params.layout) {
    const view = params.view(spec.name);
    const values = g.floatType === 'float32' ? view : Float64Array.from(view);
    m.set(spec.name, g.initializer(spec.name, { dtype: g.floatType, shape: spec.shape, values }));
  }
  return m;
}

export function buildPrefillGraph(params: ParameterSet, floatType: FloatType = 'float32'): Graph {
  const config = params.config;
  const g = new Graph(floatType, 'gpt_prefill');
  const weights = weightInitializers(g, params);
  const tokens = g.input('tokens', ['B', 'T'], 'int64');
  const lengths = g.input('lengths', ['B'], 'int64');
  const { hidden, presentK, presentV } = gptTrunkForward(g, tokens, weights, config); // (B, T, C)
  const last = gatherLastHidden(g, hidden, lengths); // (B, C)
  g.output('logits', lmHeadForward(g, last, weights)); // (B, V)
  for (let l = 0; l < config.layers; l++) {
    g.output(presentKey(l), presentK[l]!); // (B, NH, T, HS)
    g.output(presentValue(l), presentV[l]!); // (B, NH, T, HS)
  }
  return g;
}

export function buildDecodeGraph(params: ParameterSet, floatType: FloatType = 'float32'): Graph {
  const config = params.config;
  const NH = config.heads;
  const HS = headSize(config);
  const g = new Graph(floatType, 'gpt_decode');
  const weights = weightInitializers(g, params);
  const tokens = g.input('tokens', ['B'], 'int64');
  const positions = g.input('positions', ['B'], 'int64');
  const past: PastKeyValues[] = [];
  const pastKs: Value[] = [];
  const pastVs: Value[] = [];
  for (let l = 0; l < config.layers; l++) {
    pastKs.push(g.input(pastKey(l), ['B', NH, 'P', HS]));
    pastVs.push(g.input(pastValue(l), ['B', NH, 'P', HS]));
  }
  const pastMask = g.input('past_mask', ['B', 'P']);
  for (let l = 0; l < config.layers; l++) past.push({ pastK: pastKs[l]!, pastV: pastVs[l]!, pastMask });
  const tokens2 = g.unsqueeze(tokens, [1]); // (B, 1)
  const positions2 = g.unsqueeze(positions, [1]); // (B, 1)
  const { hidden, presentK, presentV } = gptTrunkForward(g, tokens2, weights, config, { positions: positions2, past }); // (B, 1, C)
  g.output('logits', lmHeadForward(g, g.squeeze(hidden, [1]), weights)); // (B, V)
  for (let l = 0; l < config.layers; l++) {
    g.output(newKey(l), presentK[l]!); // (B, NH, 1, HS)
    g.output(newValue(l), presentV[l]!); // (B, NH, 1, HS)
  }
  return g;
}

/** The ONNX ModelProto of an inference graph with its weights, the GPT config recorded as metadata. */
export function buildModelProto(graph: Graph, config: GptConfig, docString = ''): ReturnType<Graph['toModelProto']> {
  const proto = graph.toModelProto(docString);
  proto.metadataProps = Object.entries(config).map(([key, value]) => ({ key: `outerloop.gpt.${key}`, value: String(value) }));
  return proto;
}

/**
 * Serialized prefill and decode models, each carrying the weights; the artifact code
 * writes them as `.onnx` files. `params` is a ParameterSet or the raw blob in layout order.
 */
export function exportInferenceGraphs(config: GptConfig, params: ParameterSet | Float32Array): { prefill: Uint8Array; decode: Uint8Array } {
  const set = params instanceof ParameterSet ? params : new ParameterSet(config, params);
  const fields: Array<keyof GptConfig> = ['vocabSize', 'maxSeqLen', 'channels', 'layers', 'heads'];
  if (fields.some((f) => set.config[f] !== config[f])) {
    throw new ShapeError('parameters', `a parameter set for ${JSON.stringify(config)}`, JSON.stringify(set.config));
  }
  return {
    prefill: encodeModel(buildModelProto(buildPrefillGraph(set), config, 'outerloop GPT prefill')),
    decode: encodeModel(buildModelProto(buildDecodeGraph(set), config, 'outerloop GPT decode')),
  };
}
