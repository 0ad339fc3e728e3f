// An independent reference implementation of the inference-graph contract (prefill /
// decode with a KV cache) for the runtime tests: a GPT-2 style pre-LayerNorm decoder
// over the ParameterSet layout of src/engine/gpt/config.ts, written plainly with the
// graph builder. It lets the BatchEngine be tested on its own, and gives the engine
// core's exportInferenceGraphs something to be compared against.
//
// Contract (issue 3):
//   prefill: tokens int64 (B, T), lengths int64 (B) → logits (B, V) at each row's last
//            real token, present_k_<i>/present_v_<i> (B, NH, T, HS)
//   decode:  tokens (B), positions (B), past_k_<i>/past_v_<i> (B, NH, P, HS), past_mask
//            (B, P) additive → logits (B, V), new_k_<i>/new_v_<i> (B, NH, 1, HS); the new
//            token attends to itself.
// GELU is the tanh approximation (GPT-2 / llm.c).

import { Graph, type Value } from '../../../../src/engine/graph/builder.js';
import { headSize, type GptConfig, type ParameterSet } from '../../../../src/engine/gpt/config.js';

function weights(g: Graph, params: ParameterSet): (name: string) => Value {
  const cache = new Map<string, Value>();
  return (name) => {
    let v = cache.get(name);
    if (!v) {
      const spec = params.spec(name);
      v = g.initializer(name, { dtype: 'float32', shape: spec.shape, values: params.view(name) });
      cache.set(name, v);
    }
    return v;
  };
}

function gelu(g: Graph, x: Value): Value {
  // 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
  const inner = g.mul(g.scalar(Math.sqrt(2 / Math.PI)), g.add(x, g.mul(g.scalar(0.044715), g.mul(x, g.mul(x, x)))));
  return g.mul(g.mul(g.scalar(0.5), x), g.add(g.scalar(1), g.tanh(inner)));
}

/** (B, S, C) → (B, NH, S, HS) */
function splitHeads(g: Graph, x: Value, NH: number, HS: number, S: string | number): Value {
  return g.transpose(g.reshape(x, [0, 0, NH, HS], ['B', S, NH, HS]), [0, 2, 1, 3]);
}

/** MLP + attention projection of one block, given attention output y (B, S, C) and residual x. */
function blockTail(g: Graph, w: (n: string) => Value, p: string, x: Value, y: Value): Value {
  const x1 = g.add(x, g.add(g.matmul(y, w(p + 'attn.proj.w')), w(p + 'attn.proj.b'))); // (B, S, C)
  const h = g.layerNorm(x1, w(p + 'ln2.w'), w(p + 'ln2.b'));
  const fc = gelu(g, g.add(g.matmul(h, w(p + 'mlp.fc.w')), w(p + 'mlp.fc.b'))); // (B, S, 4C)
  return g.add(x1, g.add(g.matmul(fc, w(p + 'mlp.proj.w')), w(p + 'mlp.proj.b')));
}

export function referencePrefillGraph(config: GptConfig, params: ParameterSet): Uint8Array {
  const { layers: L, heads: NH, channels: C } = config;
  const HS = headSize(config);
  const g = new Graph('float32', 'reference_prefill');
  const w = weights(g, params);
  const tokens = g.input('tokens', ['B', 'T'], 'int64');
  const lengths = g.input('lengths', ['B'], 'int64');
  const T = g.reshape(g.shapeOf(tokens, 1, 2), [], []); // scalar T
  const pos = g.range(g.scalar(0, 'int64'), T, 'T'); // (T)
  let x = g.add(g.gather(w('wte'), tokens), g.gather(w('wpe'), pos)); // (B, T, C)
  // causal additive mask (T, T): -1e9 where key j > query i
  const future = g.greater(g.unsqueeze(pos, [0]), g.unsqueeze(pos, [1])); // (T, T)
  const causal = g.where(future, g.scalar(-1e9), g.scalar(0));
  for (let i = 0; i < L; i++) {
    const p = `h.${i}.`;
    const h = g.layerNorm(x, w(p + 'ln1.w'), w(p + 'ln1.b'));
    const qkv = g.add(g.matmul(h, w(p + 'attn.qkv.w')), w(p + 'attn.qkv.b')); // (B, T, 3C)
    const [q, k, v] = g.split(qkv, 2, [C, C, C]).map((t) => splitHeads(g, t, NH, HS, 'T')); // (B, NH, T, HS)
    g.output(`present_k_${i}`, k);
    g.output(`present_v_${i}`, v);
    const att = g.softmax(g.add(g.mul(g.matmul(q, g.transpose(k, [0, 1, 3, 2])), g.scalar(1 / Math.sqrt(HS))), causal)); // (B, NH, T, T)
    const y = g.reshape(g.transpose(g.matmul(att, v), [0, 2, 1, 3]), [0, 0, C], ['B', 'T', C]); // (B, T, C)
    x = blockTail(g, w, p, x, y);
  }
  // hidden state at each row's last real token: (B, 1, C) via GatherElements on T
  const last = g.sub(lengths, g.scalar(1, 'int64')); // (B)
  const idx = g.expand(g.reshape(last, [-1, 1, 1], ['B', 1, 1]), g.ints([1, 1, C]), ['B', 1, C]);
  const xl = g.reshape(g.gatherElements(x, idx, 1), [-1, C], ['B', C]); // (B, C)
  const hf = g.layerNorm(xl, w('lnf.w'), w('lnf.b'));
  g.output('logits', g.matmul(hf, g.transpose(w('wte'), [1, 0]))); // (B, V)
  return g.serialize();
}

export function referenceDecodeGraph(config: GptConfig, params: ParameterSet): Uint8Array {
  const { layers: L, heads: NH, channels: C } = config;
  const HS = headSize(config);
  const g = new Graph('float32', 'reference_decode');
  const w = weights(g, params);
  const tokens = g.input('tokens', ['B'], 'int64');
  const positions = g.input('positions', ['B'], 'int64');
  const pastK: Value[] = [];
  const pastV: Value[] = [];
  for (let i = 0; i < L; i++) {
    pastK.push(g.input(`past_k_${i}`, ['B', NH, 'P', HS]));
    pastV.push(g.input(`past_v_${i}`, ['B', NH, 'P', HS]));
  }
  const pastMask = g.input('past_mask', ['B', 'P']);
  const selfMask = g.zerosLike(g.unsqueeze(tokens, [1])); // (B, 1) int64 zeros
  const mask = g.unsqueeze(g.concat([pastMask, g.cast(selfMask, 'float32')], 1), [1, 2]); // (B, 1, 1, P+1)
  let x = g.unsqueeze(g.add(g.gather(w('wte'), tokens), g.gather(w('wpe'), positions)), [1]); // (B, 1, C)
  for (let i = 0; i < L; i++) {
    const p = `h.${i}.`;
    const h = g.layerNorm(x, w(p + 'ln1.w'), w(p + 'ln1.b'));
    const qkv = g.add(g.matmul(h, w(p + 'attn.qkv.w')), w(p + 'attn.qkv.b')); // (B, 1, 3C)
    const [q, k, v] = g.split(qkv, 2, [C, C, C]).map((t) => splitHeads(g, t, NH, HS, 1)); // (B, NH, 1, HS)
    g.output(`new_k_${i}`, k);
    g.output(`new_v_${i}`, v);
    // No Concat of the cache with the new key/value: that would copy (B, NH, P, HS) twice
    // per layer per step. Score the past and the token itself apart, softmax over the
    // small (B, NH, 1, P+1) scores, and add the two weighted sums.
    const scoresPast = g.matmul(q, g.transpose(pastK[i], [0, 1, 3, 2])); // (B, NH, 1, P)
    const scoreSelf = g.reduceSum(g.mul(q, k), [3], true); // (B, NH, 1, 1)
    const scores = g.add(g.mul(g.concat([scoresPast, scoreSelf], 3), g.scalar(1 / Math.sqrt(HS))), mask); // (B, NH, 1, P+1)
    const att = g.softmax(scores); // (B, NH, 1, P+1)
    const attPast = g.slice(att, 3, 0, -1); // (B, NH, 1, P)
    const attSelf = g.slice(att, 3, -1, 1 << 30); // (B, NH, 1, 1)
    const yHeads = g.add(g.matmul(attPast, pastV[i]), g.mul(attSelf, v)); // (B, NH, 1, HS)
    const y = g.reshape(g.transpose(yHeads, [0, 2, 1, 3]), [0, 0, C], ['B', 1, C]); // (B, 1, C)
    x = blockTail(g, w, p, x, y);
  }
  const hf = g.layerNorm(g.reshape(x, [-1, C], ['B', C]), w('lnf.w'), w('lnf.b'));
  g.output('logits', g.matmul(hf, g.transpose(w('wte'), [1, 0]))); // (B, V)
  return g.serialize();
}

export function referenceInferenceGraphs(config: GptConfig, params: ParameterSet): { prefill: Uint8Array; decode: Uint8Array } {
  return { prefill: referencePrefillGraph(config, params), decode: referenceDecodeGraph(config, params) };
}
