// The training loop over a TrainStep: gradient accumulation over micro-batches, NaN/Inf
// detection, global-norm clipping, warm-up + cosine learning rate, AdamW. Progress goes
// only through the `onProgress` callback (the engine core never logs).
//
// Safety: a non-finite loss or gradient raises NonFiniteError BEFORE the optimizer
// touches the parameters, and the trainer is then marked failed: `checkpoint()` refuses,
// so no checkpoint is ever written from a state that produced NaN/Inf.

import { NonFiniteError } from '../errors.js';
import { EngineSessionOptions } from '../graph/session.js';
import { GptConfig, ParameterSet, ParameterSpec } from '../gpt/config.js';
import { AdamW, AdamWOptions } from '../optim/adamw.js';
import { clipScale, globalNorm } from '../optim/clip.js';
import { CosineScheduleOptions, cosineWithWarmup } from '../optim/schedule.js';
import type { LossBuilder } from './loss.js';
import { Batch, TrainStep } from './train-step.js';

export interface TrainProgress {
  step: number;
  totalSteps: number;
  loss: number;
  metrics: Record<string, number>;
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  tokensPerSecond: number;
  /** Wall time of this optimizer step (all its micro-batches, clipping and the update). */
  stepMs: number;
  /** Estimated seconds to finish totalSteps at the mean step time so far. */
  etaSeconds: number;
}

export interface TrainerOptions extends EngineSessionOptions {
  schedule: CosineScheduleOptions;
  /** Global-norm clip threshold; 0 disables. Default 1.0. */
  maxGradNorm?: number;
  adamw?: AdamWOptions;
  onProgress?: (p: TrainProgress) => void;
}

export class Trainer {
  /** The last step's gradient (the mean over its micro-batches), before clipping. */
  readonly grads: Float32Array;
  private readonly microGrads: Float32Array;
  readonly optimizer: AdamW;
  private failed: NonFiniteError | null = null;
  private elapsedMs = 0;
  step = 0;

  private constructor(
    readonly params: ParameterSet,
    readonly stepRunner: TrainStep,
    private readonly opts: TrainerOptions,
  ) {
    this.grads = new Float32Array(params.data.length);
    this.microGrads = new Float32Array(params.data.length);
    this.optimizer = new AdamW(params.layout, opts.adamw);
  }

  /** `loss`: the algorithm's loss (src/rlhf: sftLoss, rewardLoss, ppoLoss, dpoLoss). */
  static async create(config: GptConfig, loss: LossBuilder, params: ParameterSet, opts: TrainerOptions): Promise<Trainer> {
    const sessionOpts: EngineSessionOptions = {};
    if (opts.intraOpThreads !== undefined) sessionOpts.intraOpThreads = opts.intraOpThreads;
    if (opts.optimization !== undefined) sessionOpts.optimization = opts.optimization;
    if (opts.spinning !== undefined) sessionOpts.spinning = opts.spinning;
    return new Trainer(params, await TrainStep.create(config, loss, sessionOpts), opts);
  }

  /** The NonFiniteError that stopped training, if any. */
  get failure(): NonFiniteError | null {
    return this.failed;
  }

  /**
   * One optimizer step over `microBatches` (gradient accumulation: the mean of their
   * gradients, i.e. each micro-batch's loss weighted 1/n). Returns the progress record.
   */
  async trainStep(microBatches: Batch[]): Promise<TrainProgress> {
    if (this.failed) throw this.failed;
    if (microBatches.length === 0) throw new RangeError('trainStep needs at least one micro-batch');
    const started = performance.now();
    const n = microBatches.length;
    let loss = 0;
    let tokens = 0;
    const metrics: Record<string, number> = {};
    for (let k = 0; k < n; k++) {
      // The first micro-batch writes straight into the accumulator; later ones go through a scratch blob.
      const target = k === 0 ? this.grads : this.microGrads;
      const out = await this.stepRunner.run(this.params.data, microBatches[k]!, target);
      if (!Number.isFinite(out.loss)) this.fail(new NonFiniteError('loss', 0, out.loss, this.step));
      if (k > 0) for (let i = 0; i < this.grads.length; i++) this.grads[i] = this.grads[i]! + this.microGrads[i]!;
      loss += out.loss / n;
      tokens += out.tokens;
      for (const [m, v] of Object.entries(out.metrics)) metrics[m] = (metrics[m] ?? 0) + v / n;
    }
    if (n > 1) for (let i = 0; i < this.grads.length; i++) this.grads[i] = this.grads[i]! / n;
    // One pass for the finiteness check and the norm (a NaN/Inf anywhere makes the norm
    // non-finite; only then is the blob scanned again to name the tensor), and clipping
    // folded into the optimizer's loop: two passes over the blob instead of four.
    const gradNorm = globalNorm(this.grads);
    if (!Number.isFinite(gradNorm)) this.failOnNonFiniteGradient();
    const lr = cosineWithWarmup(this.step, this.opts.schedule);
    this.optimizer.update(this.params.data, this.grads, lr, clipScale(gradNorm, this.opts.maxGradNorm ?? 1.0));
    this.step++;

    const ms = performance.now() - started;
    this.elapsedMs += ms;
    const progress: TrainProgress = {
      step: this.step,
      totalSteps: this.opts.schedule.totalSteps,
      loss,
      metrics,
      lr,
      gradNorm,
      tokensPerSecond: tokens / (ms / 1000),
      stepMs: ms,
      etaSeconds: (Math.max(0, this.opts.schedule.totalSteps - this.step) * this.elapsedMs) / this.step / 1000,
    };
    this.opts.onProgress?.(progress);
    return progress;
  }

  /**
   * Hands the current parameters to `write` (e.g. the artifact writer) — refused once
   * training has hit a non-finite value, so a corrupted state is never persisted.
   */
  async checkpoint<T>(write: (params: ParameterSet, step: number) => Promise<T> | T): Promise<T> {
    if (this.failed) throw this.failed;
    return write(this.params, this.step);
  }

  /** Names the first non-finite gradient element and fails; called only once the norm is non-finite. */
  private failOnNonFiniteGradient(): never {
    const g = this.grads;
    const i = g.findIndex((x) => !Number.isFinite(x));
    const spec = this.params.layout.find((s: ParameterSpec) => i >= s.offset && i < s.offset + s.size)!;
    return this.fail(new NonFiniteError(`grad.${spec.name}`, i - spec.offset, g[i]!, this.step));
  }

  private fail(e: NonFiniteError): never {
    this.failed = e;
    throw e;
  }
}
