// AdamW over one contiguous parameter blob (Loshchilov & Hutter 2019, "Decoupled Weight
// Decay Regularization", Algorithm 2): the decay multiplies the weights directly and is
// not folded into the gradient, so it is not rescaled by Adam's second moment.
// One loop over the blob, as in llm.c gpt2_update; moments are allocated once.
//
// Weight decay applies to matrices only (embeddings and linear weights), not to biases or
// LayerNorm parameters — the GPT-2 / nanoGPT convention: decaying a LayerNorm gain toward
// 0 fights the normalization rather than regularizing.

import { ShapeError } from '../errors.js';
import type { ParameterSpec } from '../gpt/config.js';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export class AdamW {
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** 1 where weight decay applies, 0 elsewhere. */
  readonly decayMask: Uint8Array;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Number of updates applied so far (t in the bias corrections). */
  step = 0;

  constructor(layout: readonly ParameterSpec[], opts: AdamWOptions = {}) {
    const last = layout[layout.length - 1]!;
    const size = last.offset + last.size;
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
    this.decayMask = new Uint8Array(size);
    for (const s of layout) if (s.shape.length >= 2) this.decayMask.fill(1, s.offset, s.offset + s.size);
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.95;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.1;
  }

  /**
   * One update of `params` in place from `grads` × `gradScale` at learning rate `lr`.
   * `gradScale` is global-norm clipping folded into this loop (the Trainer passes
   * maxNorm/‖g‖ when the norm exceeds maxNorm): the same update as scaling `grads` first,
   * one pass over the blob fewer, and `grads` is left as the run wrote it.
   */
  update(params: Float32Array, grads: Float32Array, lr: number, gradScale = 1): void {
    if (params.length !== this.m.length) throw new ShapeError('parameters', `(${this.m.length})`, `(${params.length})`);
    if (grads.length !== this.m.length) throw new ShapeError('gradients', `(${this.m.length})`, `(${grads.length})`);
    this.step++;
    const { m, v, decayMask, beta1, beta2, eps } = this;
    // Reciprocals of the bias corrections, hoisted: the loop multiplies instead of dividing twice per element.
    const lrOverBc1 = lr / (1 - Math.pow(beta1, this.step));
    const invBc2 = 1 / (1 - Math.pow(beta2, this.step));
    const oneMinusBeta1 = 1 - beta1, oneMinusBeta2 = 1 - beta2;
    const decay = lr * this.weightDecay;
    for (let i = 0; i < params.length; i++) {
      const g = grads[i]! * gradScale;
      const mi = beta1 * m[i]! + oneMinusBeta1 * g;
      const vi = beta2 * v[i]! + oneMinusBeta2 * g * g;
      m[i] = mi;
      v[i] = vi;
      const p = params[i]!;
      params[i] = p - (lrOverBc1 * mi) / (Math.sqrt(vi * invBc2) + eps) - (decayMask[i] ? decay * p : 0);
    }
  }

  /** Optimizer state for a checkpoint: step count and both moments. */
  state(): { step: number; m: Float32Array; v: Float32Array } {
    return { step: this.step, m: this.m, v: this.v };
  }

  loadState(state: { step: number; m: Float32Array; v: Float32Array }): void {
    if (state.m.length !== this.m.length || state.v.length !== this.v.length) {
      throw new ShapeError('optimizer state', `(${this.m.length})`, `(${state.m.length})`);
    }
    this.m.set(state.m);
    this.v.set(state.v);
    this.step = state.step;
  }
}
