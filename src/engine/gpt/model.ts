// The GPT forward, written once as graph-building functions (llm.c train_gpt2.c is the
// model: one plain function per layer). The training graph, the scoring graph and the
// prefill/decode inference graphs all call these; autodiff derives the backward.
//
// Dimension legend:
//   B  batch size            T  sequence length (≤ maxT)       P  KV-cache capacity (decode)
//   C  channels              V  vocabulary size                L  layers
//   NH heads                 HS head size = C / NH
//
// Argument order is fixed: graph, inputs, weights, dims. Every tensor carries its shape.
//
// Architecture: pre-LayerNorm decoder (GPT-2; Radford et al. 2019): token + learned
// position embeddings, L × [x += attn(LN1(x)); x += mlp(LN2(x))], final LN, LM head tied
// to wte. Scalar heads read the final hidden state: a value head at every position (PPO
// critic) and a reward head at each sequence's last real token (reward model).

import { ShapeError } from '../errors.js';
import { Graph, Value } from '../graph/builder.js';
import { GptConfig, gptParameterLayout, headSize } from './config.js';

/** Large negative additive mask: exp(x − 1e9 − max) underflows to exactly 0 in float32. */
export const MASK_NEGATIVE = -1e9;
export const LAYER_NORM_EPSILON = 1e-5;

/** Graph values of every parameter tensor, by layout name. */
export type GptWeights = ReadonlyMap<string, Value>;

/** Declares every parameter as a graph input (training: one session serves every step). */
export function weightInputs(g: Graph, config: GptConfig): Map<string, Value> {
  const m = new Map<string, Value>();
  for (const spec of gptParameterLayout(config)) m.set(spec.name, g.input(spec.name, spec.shape));
  return m;
}

function w(weights: GptWeights, name: string): Value {
  const v = weights.get(name);
  if (!v) throw new ShapeError(name, 'a parameter of the model', 'missing');
  return v;
}

// ------------------------------------------------------------------ layers

/** Token + position embedding. tokens (B, T) int64, positions (B, T) or (T) int64 → (B, T, C). */
export function encoderForward(g: Graph, tokens: Value, positions: Value, wte: Value, wpe: Value): Value {
  const tokEmb = g.gather(wte, tokens, 0); // (B, T, C)
  const posEmb = g.gather(wpe, positions, 0); // (T, C) or (B, T, C)
  return g.add(tokEmb, posEmb); // (B, T, C)
}

/** x @ W + b for a (in, out) weight. (…, IC) → (…, OC) */
export function linearForward(g: Graph, x: Value, weight: Value, bias: Value): Value {
  return g.add(g.matmul(x, weight), bias);
}

/** GELU, tanh approximation (GPT-2, llm.c); see Graph.gelu for the fused kernel. (…) → (…) */
export function geluForward(g: Graph, x: Value): Value {
  return g.gelu(x);
}

/** The cache a decode step attends over, besides the new token itself. */
export interface PastKeyValues {
  pastK: Value; // (B, NH, P, HS)
  pastV: Value; // (B, NH, P, HS)
  /** Additive mask over the past slots: 0 attend, −1e9 ignore. */
  pastMask: Value; // (B, P)
}

export interface AttentionResult {
  out: Value; // (B, T, C)
  k: Value; // (B, NH, T, HS) keys of this call's tokens (present / new cache entries)
  v: Value; // (B, NH, T, HS)
}

/**
 * Multi-head self-attention. x is the LayerNorm'd residual (B, T, C). Without `past`,
 * attention is causal over the T tokens (training, prefill); with `past` (decode, T = 1)
 * the token attends to the masked cache slots and to itself.
 */
export function attentionForward(
  g: Graph,
  x: Value,
  qkvW: Value,
  qkvB: Value,
  projW: Value,
  projB: Value,
  causalMask: Value | null,
  past: PastKeyValues | null,
  NH: number,
  HS: number,
): AttentionResult {
  const C = NH * HS;
  const qkv = linearForward(g, x, qkvW, qkvB); // (B, T, 3C)
  const [q0, k0, v0] = g.split(qkv, -1, [C, C, C]) as [Value, Value, Value]; // 3 × (B, T, C)
  // Scale q before the product: (B, NH, T, HS) is smaller than the (B, NH, T, T) scores.
  const qScaled = g.mul(q0, g.scalar(1 / Math.sqrt(HS), x.dtype)); // (B, T, C)
  const q = g.transpose(g.reshape(qScaled, [0, 0, NH, HS]), [0, 2, 1, 3]); // (B, NH, T, HS)
  const k = g.transpose(g.reshape(k0, [0, 0, NH, HS]), [0, 2, 1, 3]); // (B, NH, T, HS)
  const v = g.transpose(g.reshape(v0, [0, 0, NH, HS]), [0, 2, 1, 3]); // (B, NH, T, HS)

  let keys = k; // (B, NH, S, HS), S = T or P + 1
  let values = v; // (B, NH, S, HS)
  let mask: Value; // broadcastable to (B, NH, T, S)
  if (past) {
    keys = g.concat([past.pastK, k], 2); // (B, NH, P+1, HS)
    values = g.concat([past.pastV, v], 2); // (B, NH, P+1, HS)
    // (B, 1) zeros: the new token always attends to itself (also when P = 0).
    const selfShape = g.concat([g.shapeOf(past.pastMask, 0, 1), g.ints([1])], 0); // [B, 1]
    const self = g.expand(g.scalar(0, x.dtype), selfShape, [past.pastMask.shape[0]!, 1]); // (B, 1)
    mask = g.unsqueeze(g.concat([past.pastMask, self], 1), [1, 2]); // (B, 1, 1, P+1)
  } else {
    if (!causalMask) throw new ShapeError('causal_mask', '(T, T) additive mask', 'missing');
    mask = causalMask; // (T, T)
  }
  const keysT = g.transpose(keys, [0, 1, 3, 2]); // (B, NH, HS, S)
  const scores = g.add(g.matmul(q, keysT), mask); // (B, NH, T, S)
  const att = g.softmax(scores, -1); // (B, NH, T, S)
  const y = g.matmul(att, values); // (B, NH, T, HS)
  const merged = g.reshape(g.transpose(y, [0, 2, 1, 3]), [0, 0, C]); // (B, T, C)
  return { out: linearForward(g, merged, projW, projB), k, v }; // (B, T, C)
}

/** MLP: fc (C → 4C), GELU, proj (4C → C). */
export function mlpForward(g: Graph, x: Value, fcW: Value, fcB: Value, projW: Value, projB: Value): Value {
  const h = linearForward(g, x, fcW, fcB); // (B, T, 4C)
  const a = geluForward(g, h); // (B, T, 4C)
  return linearForward(g, a, projW, projB); // (B, T, C)
}

/** The (T, T) causal additive mask: a (maxT, maxT) constant sliced to the run-time T. */
export function causalMaskForward(g: Graph, tokens: Value, maxT: number): Value {
  const full = new Float64Array(maxT * maxT);
  for (let i = 0; i < maxT; i++) for (let j = i + 1; j < maxT; j++) full[i * maxT + j] = MASK_NEGATIVE;
  const table = g.constant(g.floatType === 'float32' ? Float32Array.from(full) : full, [maxT, maxT]); // (maxT, maxT)
  const T = g.shapeOf(tokens, 1, 2); // (1) int64
  const T2 = g.concat([T, T], 0); // (2)
  return g.sliceDynamic(table, g.ints([0, 0]), T2, [0, 1], [tokens.shape[1]!, tokens.shape[1]!]); // (T, T)
}

export interface TrunkOptions {
  /** Positions (B, T) or (T) int64; default 0..T-1. */
  positions?: Value;
  /** Per-layer KV cache (decode). */
  past?: PastKeyValues[];
}

export interface TrunkResult {
  hidden: Value; // (B, T, C) after the final LayerNorm
  presentK: Value[]; // L × (B, NH, T, HS)
  presentV: Value[]; // L × (B, NH, T, HS)
}

/** Embedding, L transformer blocks, final LayerNorm. tokens (B, T) int64. */
export function gptTrunkForward(g: Graph, tokens: Value, weights: GptWeights, config: GptConfig, opts: TrunkOptions = {}): TrunkResult {
  const NH = config.heads;
  const HS = headSize(config);
  let positions = opts.positions;
  if (!positions) {
    const T = g.squeeze(g.shapeOf(tokens, 1, 2), [0]); // () int64
    positions = g.range(g.scalar(0, 'int64'), T, tokens.shape[1]!); // (T)
  }
  const causalMask = opts.past ? null : causalMaskForward(g, tokens, config.maxSeqLen); // (T, T)
  let x = encoderForward(g, tokens, positions, w(weights, 'wte'), w(weights, 'wpe')); // (B, T, C)
  const presentK: Value[] = [];
  const presentV: Value[] = [];
  for (let l = 0; l < config.layers; l++) {
    const p = `h.${l}.`;
    const ln1 = g.layerNorm(x, w(weights, p + 'ln1.w'), w(weights, p + 'ln1.b'), LAYER_NORM_EPSILON); // (B, T, C)
    const attn = attentionForward(
      g, ln1,
      w(weights, p + 'attn.qkv.w'), w(weights, p + 'attn.qkv.b'), w(weights, p + 'attn.proj.w'), w(weights, p + 'attn.proj.b'),
      causalMask, opts.past?.[l] ?? null, NH, HS,
    );
    x = g.add(x, attn.out); // (B, T, C)
    const ln2 = g.layerNorm(x, w(weights, p + 'ln2.w'), w(weights, p + 'ln2.b'), LAYER_NORM_EPSILON); // (B, T, C)
    x = g.add(x, mlpForward(g, ln2, w(weights, p + 'mlp.fc.w'), w(weights, p + 'mlp.fc.b'), w(weights, p + 'mlp.proj.w'), w(weights, p + 'mlp.proj.b'))); // (B, T, C)
    presentK.push(attn.k);
    presentV.push(attn.v);
  }
  const hidden = g.layerNorm(x, w(weights, 'lnf.w'), w(weights, 'lnf.b'), LAYER_NORM_EPSILON); // (B, T, C)
  return { hidden, presentK, presentV };
}

/** Tied LM head: hidden @ wteᵀ. (…, C) → (…, V) */
export function lmHeadForward(g: Graph, hidden: Value, weights: GptWeights): Value {
  return g.matmul(hidden, g.transpose(w(weights, 'wte'), [1, 0])); // (…, V)
}

/** Value head at every position. (B, T, C) → (B, T) */
export function valueHeadForward(g: Graph, hidden: Value, weights: GptWeights): Value {
  return g.squeeze(linearForward(g, hidden, w(weights, 'value_head.w'), w(weights, 'value_head.b')), [-1]); // (B, T)
}

/** Index (B, 1) int64 of each row's last real token: lengths − 1. */
export function lastTokenIndex(g: Graph, lengths: Value): Value {
  return g.unsqueeze(g.sub(lengths, g.scalar(1, 'int64')), [1]); // (B, 1)
}

/** The hidden state at each row's last real token. hidden (B, T, C), lengths (B) → (B, C) */
export function gatherLastHidden(g: Graph, hidden: Value, lengths: Value): Value {
  const C = hidden.shape[2]!;
  const idx = g.unsqueeze(lastTokenIndex(g, lengths), [2]); // (B, 1, 1)
  const shape = g.concat([g.shapeOf(hidden, 0, 1), g.ints([1, C as number])], 0); // [B, 1, C]
  const idxC = g.expand(idx, shape, [hidden.shape[0]!, 1, C]); // (B, 1, C)
  return g.squeeze(g.gatherElements(hidden, idxC, 1), [1]); // (B, C)
}

/** Reward head read at each row's last real token. hidden (B, T, C), lengths (B) → (B) */
export function rewardHeadForward(g: Graph, hidden: Value, lengths: Value, weights: GptWeights): Value {
  const last = gatherLastHidden(g, hidden, lengths); // (B, C)
  return g.squeeze(linearForward(g, last, w(weights, 'reward_head.w'), w(weights, 'reward_head.b')), [-1]); // (B)
}

/** log p(target) at every position, from logits. logits (B, T, V), targets (B, T) int64 → (B, T) */
export function targetLogprobsForward(g: Graph, logits: Value, targets: Value): { logprobs: Value; picked: Value } {
  const logprobs = g.logSoftmax(logits, -1); // (B, T, V)
  const picked = g.squeeze(g.gatherElements(logprobs, g.unsqueeze(targets, [-1]), -1), [-1]); // (B, T)
  return { logprobs, picked };
}
