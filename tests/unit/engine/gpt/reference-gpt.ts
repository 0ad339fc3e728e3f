// An independent plain-TypeScript GPT forward in float64 (the role of llm.c's
// train_gpt2.py / the PyTorch reference in test_gpt2.c). It shares nothing with the graph
// code but the parameter layout: loops over arrays, written from the GPT-2 equations.
// Gradients come from central differences on this forward, so they are independent of
// the autodiff rules too.

import assert from 'node:assert/strict';
import { GptConfig, ParameterSpec, gptParameterLayout } from '../../../../src/engine/gpt/config.js';

type Params = Map<string, Float64Array>;

export function splitParams(config: GptConfig, blob: ArrayLike<number>): Params {
  const m: Params = new Map();
  for (const s of gptParameterLayout(config)) m.set(s.name, Float64Array.from({ length: s.size }, (_, i) => blob[s.offset + i]!));
  return m;
}

function layerNorm(x: Float64Array, rows: number, C: number, w: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(rows * C);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x[r * C + c]!;
    mean /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[r * C + c]! - mean) ** 2;
    v /= C;
    const rstd = 1 / Math.sqrt(v + 1e-5);
    for (let c = 0; c < C; c++) out[r * C + c] = (x[r * C + c]! - mean) * rstd * w[c]! + b[c]!;
  }
  return out;
}

/** out (rows, OC) = x (rows, IC) @ w (IC, OC) + b */
function linear(x: Float64Array, rows: number, IC: number, w: Float64Array, b: Float64Array | null, OC: number): Float64Array {
  const out = new Float64Array(rows * OC);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < OC; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < IC; i++) s += x[r * IC + i]! * w[i * OC + o]!;
      out[r * OC + o] = s;
    }
  }
  return out;
}

function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

export interface ReferenceOutputs {
  hidden: Float64Array; // (B, T, C)
  logits: Float64Array; // (B, T, V)
}

export function referenceForward(config: GptConfig, p: Params, tokens: number[], B: number, T: number): ReferenceOutputs {
  const { channels: C, vocabSize: V, heads: NH, layers: L } = config;
  const HS = C / NH;
  const N = B * T;
  let x = new Float64Array(N * C);
  const wte = p.get('wte')!, wpe = p.get('wpe')!;
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) x[(b * T + t) * C + c] = wte[tokens[b * T + t]! * C + c]! + wpe[t * C + c]!;
  for (let l = 0; l < L; l++) {
    const q = (n: string): Float64Array => p.get(`h.${l}.${n}`)!;
    const ln1 = layerNorm(x, N, C, q('ln1.w'), q('ln1.b'));
    const qkv = linear(ln1, N, C, q('attn.qkv.w'), q('attn.qkv.b'), 3 * C);
    const att = new Float64Array(N * C);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < NH; h++) {
        for (let t = 0; t < T; t++) {
          const scores = new Float64Array(t + 1);
          let max = -Infinity;
          for (let s = 0; s <= t; s++) {
            let dot = 0;
            for (let i = 0; i < HS; i++) dot += qkv[(b * T + t) * 3 * C + h * HS + i]! * qkv[(b * T + s) * 3 * C + C + h * HS + i]!;
            scores[s] = dot / Math.sqrt(HS);
            max = Math.max(max, scores[s]!);
          }
          let sum = 0;
          for (let s = 0; s <= t; s++) sum += (scores[s] = Math.exp(scores[s]! - max));
          for (let i = 0; i < HS; i++) {
            let acc = 0;
            for (let s = 0; s <= t; s++) acc += (scores[s]! / sum) * qkv[(b * T + s) * 3 * C + 2 * C + h * HS + i]!;
            att[(b * T + t) * C + h * HS + i] = acc;
          }
        }
      }
    }
    const proj = linear(att, N, C, q('attn.proj.w'), q('attn.proj.b'), C);
    const x2 = new Float64Array(N * C);
    for (let i = 0; i < N * C; i++) x2[i] = x[i]! + proj[i]!;
    const ln2 = layerNorm(x2, N, C, q('ln2.w'), q('ln2.b'));
    const fc = linear(ln2, N, C, q('mlp.fc.w'), q('mlp.fc.b'), 4 * C).map(gelu);
    const mlp = linear(fc, N, 4 * C, q('mlp.proj.w'), q('mlp.proj.b'), C);
    x = new Float64Array(N * C);
    for (let i = 0; i < N * C; i++) x[i] = x2[i]! + mlp[i]!;
  }
  const hidden = layerNorm(x, N, C, p.get('lnf.w')!, p.get('lnf.b')!);
  const logits = new Float64Array(N * V);
  for (let r = 0; r < N; r++) {
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += hidden[r * C + c]! * wte[v * C + c]!;
      logits[r * V + v] = s;
    }
  }
  return { hidden, logits };
}

/** SFT loss: −Σ mask·log softmax(logits)[target] / Σ mask. */
export function referenceSftLoss(config: GptConfig, p: Params, tokens: number[], targets: number[], mask: number[], B: number, T: number): number {
  const V = config.vocabSize;
  const { logits } = referenceForward(config, p, tokens, B, T);
  let num = 0, den = 0;
  for (let r = 0; r < B * T; r++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[r * V + v]!);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[r * V + v]! - max);
    const lp = logits[r * V + targets[r]!]! - max - Math.log(sum);
    num += mask[r]! * lp;
    den += mask[r]!;
  }
  return -num / Math.max(den, 1);
}

/** log σ(x), stable on both sides, written from its definition (not the graph's composition). */
export function referenceLogSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

/** Per-row Σ mask·log softmax(logits)[target]: a completion's log-probability. Returns (rows). */
export function referenceSequenceLogprobs(config: GptConfig, p: Params, tokens: number[], targets: number[], mask: number[], rows: number, T: number): Float64Array {
  const V = config.vocabSize;
  const { logits } = referenceForward(config, p, tokens, rows, T);
  const out = new Float64Array(rows);
  for (let r = 0; r < rows * T; r++) {
    if (mask[r] === 0) continue;
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[r * V + v]!);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[r * V + v]! - max);
    out[Math.floor(r / T)] += mask[r]! * (logits[r * V + targets[r]!]! - max - Math.log(sum));
  }
  return out;
}

/** Scalar reward of each row, read at its last real token: hidden[len − 1] · w + b. Returns (rows). */
export function referenceRewards(config: GptConfig, p: Params, tokens: number[], lengths: number[], rows: number, T: number): Float64Array {
  const C = config.channels;
  const { hidden } = referenceForward(config, p, tokens, rows, T);
  const w = p.get('reward_head.w')!, bias = p.get('reward_head.b')![0]!;
  return Float64Array.from({ length: rows }, (_, r) => {
    let s = bias;
    for (let c = 0; c < C; c++) s += hidden[(r * T + lengths[r]! - 1) * C + c]! * w[c]!;
    return s;
  });
}

/**
 * Reward-model loss (Bradley–Terry with a margin, as in Llama 2): rows [0, B) chosen,
 * [B, 2B) rejected; mean over pairs of −log σ(r_chosen − r_rejected − margin).
 */
export function referenceRewardLoss(config: GptConfig, p: Params, tokens: number[], lengths: number[], margin: number[], B: number, T: number): number {
  const r = referenceRewards(config, p, tokens, lengths, 2 * B, T);
  let loss = 0;
  for (let b = 0; b < B; b++) loss -= referenceLogSigmoid(r[b]! - r[B + b]! - margin[b]!);
  return loss / B;
}

/**
 * DPO loss (Rafailov et al. 2023, eq. 7): rows [0, B) chosen, [B, 2B) rejected; mean over
 * pairs of −log σ(β[(log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l))]).
 */
export function referenceDpoLoss(
  config: GptConfig, p: Params, tokens: number[], targets: number[], mask: number[],
  refChosen: number[], refRejected: number[], beta: number, B: number, T: number,
): number {
  const lp = referenceSequenceLogprobs(config, p, tokens, targets, mask, 2 * B, T);
  let loss = 0;
  for (let b = 0; b < B; b++) loss -= referenceLogSigmoid(beta * (lp[b]! - refChosen[b]! - (lp[B + b]! - refRejected[b]!)));
  return loss / B;
}

/** Central-difference gradient of `loss` with respect to every entry of every parameter tensor. */
export function numericGradients(p: Params, loss: () => number, h = 1e-5): Map<string, Float64Array> {
  const grads = new Map<string, Float64Array>();
  for (const [name, arr] of p) {
    const g = new Float64Array(arr.length);
    for (let i = 0; i < arr.length; i++) {
      const orig = arr[i]!;
      arr[i] = orig + h;
      const up = loss();
      arr[i] = orig - h;
      const down = loss();
      arr[i] = orig;
      g[i] = (up - down) / (2 * h);
    }
    grads.set(name, g);
  }
  return grads;
}

/**
 * Compares a graph's gradient of every parameter tensor with the reference's, printing
 * maxdiff per tensor (llm.c test_gpt2.c) and failing on the first tensor over `tol`.
 */
export function assertGradientsMatchReference(
  tag: string,
  layout: readonly ParameterSpec[],
  graphGradient: (name: string) => ArrayLike<number>,
  reference: Map<string, Float64Array>,
  tol: number,
): void {
  for (const s of layout) {
    const got = graphGradient(s.name);
    const want = reference.get(s.name)!;
    let maxdiff = 0;
    for (let i = 0; i < want.length; i++) maxdiff = Math.max(maxdiff, Math.abs(got[i]! - want[i]!));
    console.log(`[${tag}] ${s.name.padEnd(18)} maxdiff ${maxdiff.toExponential(2)}`);
    assert.ok(maxdiff < tol, `${tag}: grad ${s.name} maxdiff ${maxdiff} ≥ ${tol}`);
  }
}
