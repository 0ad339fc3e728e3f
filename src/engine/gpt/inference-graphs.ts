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
//            inv_temperature float32 (B)      1/T per row (1 for greedy rows)
//   outputs  logits     float32 (B, V)
//            new_k_<i>  float32 (B, NH, 1, HS)   to be written by the runtime at each row's position
//            new_v_<i>  float32 (B, NH, 1, HS)
//            top_logprobs float32 (B, K)        the K largest of log softmax(logits[:, :VS] · inv_temperature),
//                                               descending (ties: lower id first); K = min(SAMPLING_TOP_K, VS)
//            top_ids    int64   (B, K)           their token ids
//            cdf        float32 (B, VS)          running sum of softmax(logits[:, :VS] · inv_temperature) in id order
//   VS is the sampled vocabulary (the tokenizer's ids; config.vocabSize may be padded
//   beyond it). The new token always attends to itself in addition to the unmasked past slots.
//
//   The sampling outputs move the O(V) part of next-token sampling into the graph: the
//   runtime draws from the top-K list (top-k / top-p, top logprobs, greedy) or by binary
//   search in the cdf (plain sampling), and only falls back to a pass over the logits in
//   JavaScript when a nucleus is wider than K tokens. Decode graphs without them (older
//   artifacts) still serve, with the JavaScript sampler for every token.

import { attr, FloatType, Graph, Value, encodeModel } from '../graph/builder.js';
import { ShapeError } from '../errors.js';
import { GptConfig, ParameterSet, headSize } from './config.js';
import { encoderForward, gatherLastHidden, gptTrunkForward, LAYER_NORM_EPSILON, linearForward, lmHeadForward, mlpForward } from './model.js';

export const PREFILL_INPUTS = ['tokens', 'lengths'] as const;
export const DECODE_INPUTS = ['tokens', 'positions', 'past_mask'] as const;
export const presentKey = (layer: number): string => `present_k_${layer}`;
export const presentValue = (layer: number): string => `present_v_${layer}`;
export const pastKey = (layer: number): string => `past_k_${layer}`;
export const pastValue = (layer: number): string => `past_v_${layer}`;
export const newKey = (layer: number): string => `new_k_${layer}`;
export const newValue = (layer: number): string => `new_v_${layer}`;
/**
 * Length of the decode graph's sorted candidate list (top_logprobs / top_ids): the most
 * top logprobs a request may ask for (the API's limit, MAX_TOP_LOGPROBS in the runtime).
 * ORT's TopK costs about linearly in K (batch 32 × 1024 ids: 0.35 ms at K = 64, 0.12 ms
 * at 20); a wider top-k or nucleus is drawn by the JavaScript sampler, to the same token.
 */
export const SAMPLING_TOP_K = 20;

export interface InferenceGraphOptions {
  /** Ids that can be sampled (the tokenizer's vocabulary); default config.vocabSize. */
  sampledVocab?: number;
}

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

/**
 * One decode step for B rows, T = 1, so every activation is (B, C) — no time axis.
 *
 * Attention never copies the cache: the new token is scored against the past (one MatMul
 * over the cache) and against itself (a dot product) separately; only the small score
 * tensors are concatenated for the softmax, and the output is p_past @ V_past + p_self·v.
 * Concatenating [past_k; k] instead copies (B, NH, P, HS) per layer per step for K and
 * again for V (at B = 32, P = 256: 2 × 6.3 MB per layer), which dominated the step
 * (measured on the base policy, B = 32, P = 256, 2 threads: 66 ms → 37 ms per session.run,
 * same load). The Transpose of past_k costs no copy: ORT fuses it into the MatMul
 * (FusedMatMul, transB) — storing K pre-transposed (B, NH, HS, P) measured the same run
 * time (min 7.6 vs 7.0 ms) but made the runtime's per-step key writes strided (0.5 vs 0.2 ms).
 *
 * Few kernels (issue 19: at batch 1 a step is ~125 kernels of a few µs each, so their count
 * is the cost): the 1/√HS of q is folded into the Q columns of the QKV weight and bias
 * (no Mul per layer), q, k, v come from one Reshape + Split of the QKV row, and the outputs
 * are named where they are made (no Identity copies): 125 → 105 kernels.
 * Measured and left out (ORT profiler + step-by-step A/B on the base policy, stride 96,
 * tests/bench/engine-decode-profile.ts): com.microsoft GroupQueryAttention writing into the
 * cache in place (past and present sharing the buffer) was 1.3× slower at batch 1 and 1.8–
 * 2.3× at 8 and 32; SkipLayerNormalization for the residual Add + LayerNorm was no faster
 * (0.95–1.04×).
 */
export function buildDecodeGraph(params: ParameterSet, floatType: FloatType = 'float32', opts: InferenceGraphOptions = {}): Graph {
  const config = params.config;
  const sampledVocab = opts.sampledVocab ?? config.vocabSize;
  if (!Number.isInteger(sampledVocab) || sampledVocab < 1 || sampledVocab > config.vocabSize) {
    throw new ShapeError('sampledVocab', `an integer in [1, ${config.vocabSize}]`, String(sampledVocab));
  }
  const NH = config.heads;
  const HS = headSize(config);
  const C = config.channels;
  const g = new Graph(floatType, 'gpt_decode');
  // initializers made on first use: the unscaled QKV weights (see queryScaledQkv) and the
  // scalar heads are not part of the decode graph
  const weights = new Map<string, Value>();
  const w = (name: string): Value => {
    let v = weights.get(name);
    if (!v) {
      const view = params.view(name);
      v = g.initializer(name, { dtype: floatType, shape: params.spec(name).shape, values: floatType === 'float32' ? view : Float64Array.from(view) });
      weights.set(name, v);
    }
    return v;
  };
  const tokens = g.input('tokens', ['B'], 'int64');
  const positions = g.input('positions', ['B'], 'int64');
  const pastKs: Value[] = [];
  const pastVs: Value[] = [];
  for (let l = 0; l < config.layers; l++) {
    pastKs.push(g.input(pastKey(l), ['B', NH, 'P', HS]));
    pastVs.push(g.input(pastValue(l), ['B', NH, 'P', HS]));
  }
  const pastMask = g.input('past_mask', ['B', 'P']);
  const invTemperature = g.input('inv_temperature', ['B']);
  const mask = g.unsqueeze(pastMask, [1, 2]); // (B, 1, 1, P)
  let x = encoderForward(g, tokens, positions, w('wte'), w('wpe')); // (B, C)
  for (let l = 0; l < config.layers; l++) {
    const p = `h.${l}.`;
    const ln1 = g.layerNorm(x, w(p + 'ln1.w'), w(p + 'ln1.b'), LAYER_NORM_EPSILON); // (B, C)
    const [qkvW, qkvB] = queryScaledQkv(g, params, p, HS);
    const qkv = linearForward(g, ln1, qkvW, qkvB); // (B, 3C), q already · 1/√HS
    // T = 1: (B, 3C) → (B, 3·NH, 1, HS) is a reshape, no transpose; q, k, v are its three head blocks
    const heads = g.reshape(qkv, [0, 3 * NH, 1, HS], ['B', 3 * NH, 1, HS]); // (B, 3NH, 1, HS)
    const [q, k, v] = g.node('Split', [heads, g.ints([NH, NH, NH])], { axis: attr.int(1) }, 3,
      [['B', NH, 1, HS], ['B', NH, 1, HS], ['B', NH, 1, HS]], [floatType, floatType, floatType],
      [`q_${l}`, newKey(l), newValue(l)]) as [Value, Value, Value]; // 3 × (B, NH, 1, HS)
    const keysT = g.transpose(pastKs[l]!, [0, 1, 3, 2]); // (B, NH, HS, P), fused into the MatMul
    const scoresPast = g.add(g.matmul(q, keysT), mask); // (B, NH, 1, P)
    const scoreSelf = g.reduceSum(g.mul(q, k), [3], true); // (B, NH, 1, 1): the token always sees itself
    const att = g.softmax(g.concat([scoresPast, scoreSelf], 3), -1); // (B, NH, 1, P+1)
    const [attPast, attSelf] = splitLast(g, att); // (B, NH, 1, P), (B, NH, 1, 1)
    const y = g.add(g.matmul(attPast, pastVs[l]!), g.mul(attSelf, v)); // (B, NH, 1, HS)
    const merged = g.reshape(y, [0, C], ['B', C]); // (B, C)
    x = g.add(x, linearForward(g, merged, w(p + 'attn.proj.w'), w(p + 'attn.proj.b'))); // (B, C)
    const ln2 = g.layerNorm(x, w(p + 'ln2.w'), w(p + 'ln2.b'), LAYER_NORM_EPSILON); // (B, C)
    x = g.add(x, mlpForward(g, ln2, w(p + 'mlp.fc.w'), w(p + 'mlp.fc.b'), w(p + 'mlp.proj.w'), w(p + 'mlp.proj.b'))); // (B, C)
    g.output(newKey(l), k); // (B, NH, 1, HS)
    g.output(newValue(l), v); // (B, NH, 1, HS)
  }
  const hidden = g.layerNorm(x, w('lnf.w'), w('lnf.b'), LAYER_NORM_EPSILON); // (B, C)
  const logits = g.node('MatMul', [hidden, g.transpose(w('wte'), [1, 0])], {}, 1, [['B', config.vocabSize]], [floatType], ['logits'])[0]!; // (B, V): the tied LM head
  g.output('logits', logits);
  const sampled = sampledVocab < config.vocabSize ? g.slice(logits, 1, 0, sampledVocab) : logits; // (B, VS)
  const logprobs = g.logSoftmax(g.mul(sampled, g.unsqueeze(invTemperature, [1])), -1); // (B, VS)
  const [topLogprobs, topIds] = g.node('TopK', [logprobs, g.ints([Math.min(SAMPLING_TOP_K, sampledVocab)])], { axis: attr.int(1), largest: attr.int(1), sorted: attr.int(1) }, 2,
    [['B', Math.min(SAMPLING_TOP_K, sampledVocab)], ['B', Math.min(SAMPLING_TOP_K, sampledVocab)]], [floatType, 'int64'], ['top_logprobs', 'top_ids']) as [Value, Value]; // (B, K) each, descending
  g.output('top_logprobs', topLogprobs);
  g.output('top_ids', topIds);
  g.output('cdf', g.node('CumSum', [g.exp(logprobs), g.ints([1])], {}, 1, [['B', sampledVocab]], [floatType], ['cdf'])[0]!); // (B, VS)
  return g;
}

/**
 * Layer `p`'s QKV weight (C, 3C) and bias (3C) with the Q columns multiplied by 1/√HS, as
 * decode-graph initializers of their own (the parameter names keep the unscaled weights,
 * which readArtifact rebuilds the blob from): the attention's scale costs no kernel.
 */
function queryScaledQkv(g: Graph, params: ParameterSet, p: string, HS: number): [Value, Value] {
  const C = params.config.channels;
  const scale = 1 / Math.sqrt(HS);
  const make = g.floatType === 'float32' ? (n: number) => new Float32Array(n) : (n: number) => new Float64Array(n);
  const weight = params.view(p + 'attn.qkv.w'); // (C, 3C), row-major
  const bias = params.view(p + 'attn.qkv.b'); // (3C)
  const scaledW = make(weight.length);
  for (let i = 0; i < weight.length; i++) scaledW[i] = (i % (3 * C)) < C ? weight[i]! * scale : weight[i]!;
  const scaledB = make(bias.length);
  for (let j = 0; j < bias.length; j++) scaledB[j] = j < C ? bias[j]! * scale : bias[j]!;
  return [
    g.initializer(p + 'attn.qkv.w.q_scaled', { dtype: g.floatType, shape: [C, 3 * C], values: scaledW }),
    g.initializer(p + 'attn.qkv.b.q_scaled', { dtype: g.floatType, shape: [3 * C], values: scaledB }),
  ];
}

/** Split the last axis (size P + 1, P symbolic) into the first P and the last entry. */
function splitLast(g: Graph, att: Value): [Value, Value] {
  const past = g.slice(att, 3, 0, -1); // (B, NH, 1, P)
  const self = g.slice(att, 3, -1, 1 << 30); // (B, NH, 1, 1)
  return [past, self];
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
export function exportInferenceGraphs(config: GptConfig, params: ParameterSet | Float32Array, opts: InferenceGraphOptions = {}): { prefill: Uint8Array; decode: Uint8Array } {
  const set = params instanceof ParameterSet ? params : new ParameterSet(config, params);
  const fields: Array<keyof GptConfig> = ['vocabSize', 'maxSeqLen', 'channels', 'layers', 'heads'];
  if (fields.some((f) => set.config[f] !== config[f])) {
    throw new ShapeError('parameters', `a parameter set for ${JSON.stringify(config)}`, JSON.stringify(set.config));
  }
  return {
    prefill: encodeModel(buildModelProto(buildPrefillGraph(set), config, 'outerloop GPT prefill')),
    decode: encodeModel(buildModelProto(buildDecodeGraph(set, 'float32', opts), config, 'outerloop GPT decode')),
  };
}
