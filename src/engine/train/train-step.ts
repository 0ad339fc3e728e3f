// One training-graph run: parameters (views into the blob, no copies) + a validated
// batch → loss, metrics, and gradients written straight into a caller-owned gradient
// blob (ORT pre-allocated outputs), so a step allocates no parameter-sized buffers.

import { FloatType } from '../graph/builder.js';
import { EngineSessionOptions, getSession, ort } from '../graph/session.js';
import { GraphPassOptions, optimizeTrainingGraph } from '../graph/passes.js';
import { ShapeError, TokenRangeError } from '../errors.js';
import { GptConfig, ParameterSpec, gptParameterLayout } from '../gpt/config.js';
import type { LossBuilder } from './loss.js';
import { GRAD_PREFIX, TrainGraph, buildTrainGraph } from './train-graph.js';

/** A batch tensor: int64 ids/lengths as BigInt64Array, everything else float32; scalars as numbers. */
export type BatchTensor = { data: Float32Array | BigInt64Array; shape: number[] } | number;
export type Batch = Record<string, BatchTensor>;

export interface StepOutput {
  loss: number;
  metrics: Record<string, number>;
  /** Tokens in the batch (rows × T of `tokens`), for throughput. */
  tokens: number;
}

const INT_INPUTS = new Set(['tokens', 'targets', 'lengths']);
const TOKEN_INPUTS = new Set(['tokens', 'targets']);

/**
 * Checks a batch once at the boundary: every input present with the right dtype, the
 * symbolic dims (B, 2B, T) consistent across inputs, T ≤ maxT, token ids in [0, V),
 * lengths in [1, T]. Errors name the tensor.
 */
export function validateBatch(train: Pick<TrainGraph, 'graph' | 'batchInputs'>, config: GptConfig, batch: Batch): void {
  const dims = new Map<string, number>();
  for (const name of train.batchInputs) {
    const spec = train.graph.inputs.find((v) => v.name === name)!;
    const t = batch[name];
    if (t === undefined) throw new ShapeError(name, `a batch field of shape (${spec.shape.join(', ')})`, 'missing');
    if (typeof t === 'number') {
      if (spec.rank !== 0) throw new ShapeError(name, `(${spec.shape.join(', ')})`, 'a scalar');
      if (!Number.isFinite(t)) throw new ShapeError(name, 'a finite scalar', String(t));
      continue;
    }
    const wantInt = INT_INPUTS.has(name);
    if (wantInt !== t.data instanceof BigInt64Array) throw new ShapeError(name, wantInt ? 'int64 (BigInt64Array)' : 'float32 (Float32Array)', t.data.constructor.name);
    if (t.shape.length !== spec.rank) throw new ShapeError(name, `rank ${spec.rank} (${spec.shape.join(', ')})`, `(${t.shape.join(', ')})`);
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== size) throw new ShapeError(name, `${size} elements for (${t.shape.join(', ')})`, `${t.data.length}`);
    spec.shape.forEach((d, i) => {
      const actual = t.shape[i]!;
      if (typeof d === 'number') {
        if (d !== actual) throw new ShapeError(name, `(${spec.shape.join(', ')})`, `(${t.shape.join(', ')})`);
        return;
      }
      // '2B' and 'B' must agree: normalise to B.
      const [sym, value] = d === '2B' ? ['B', actual / 2] : [d, actual];
      if (d === '2B' && actual % 2 !== 0) throw new ShapeError(name, 'an even number of rows (chosen then rejected)', `${actual}`);
      const prev = dims.get(sym);
      if (prev === undefined) dims.set(sym, value);
      else if (prev !== value) throw new ShapeError(name, `${d} = ${d === '2B' ? 2 * prev : prev} (from earlier inputs)`, `${actual} in (${t.shape.join(', ')})`);
    });
  }
  const T = dims.get('T');
  if (T !== undefined && (T < 1 || T > config.maxSeqLen)) throw new ShapeError('tokens', `1 ≤ T ≤ maxSeqLen ${config.maxSeqLen}`, `T = ${T}`);
  for (const name of TOKEN_INPUTS) {
    const t = batch[name];
    if (t === undefined || typeof t === 'number') continue;
    const d = t.data as BigInt64Array;
    const V = BigInt(config.vocabSize);
    for (let i = 0; i < d.length; i++) if (d[i]! < 0n || d[i]! >= V) throw new TokenRangeError(name, i, Number(d[i]!), config.vocabSize);
  }
  const lengths = batch.lengths;
  if (lengths !== undefined && typeof lengths !== 'number' && T !== undefined) {
    const d = lengths.data as BigInt64Array;
    for (let i = 0; i < d.length; i++) if (d[i]! < 1n || d[i]! > BigInt(T)) throw new ShapeError('lengths', `values in [1, T = ${T}]`, `${d[i]} at index ${i}`);
  }
}

export class TrainStep {
  private weightFeeds: Record<string, ort.Tensor> | null = null;
  private weightBlob: Float32Array | null = null;
  private gradFetches: Record<string, ort.Tensor | null> | null = null;
  private gradBlob: Float32Array | null = null;
  private readonly layout: ParameterSpec[];

  private constructor(
    readonly config: GptConfig,
    readonly train: TrainGraph,
    private readonly session: ort.InferenceSession,
  ) {
    this.layout = gptParameterLayout(config);
  }

  /**
   * `graphPasses`: graph/passes.ts applied before the session is built (dead gradient
   * nodes dropped, by default; false runs the graph exactly as autodiff built it — the
   * benchmark's baseline).
   */
  static async create(config: GptConfig, loss: LossBuilder, opts: EngineSessionOptions & { floatType?: FloatType; graphPasses?: GraphPassOptions | false } = {}): Promise<TrainStep> {
    const train = buildTrainGraph(config, loss, opts.floatType ?? 'float32');
    if (opts.graphPasses !== false) optimizeTrainingGraph(train.graph, opts.graphPasses);
    const session = await getSession(train.graph, opts);
    return new TrainStep(config, train, session);
  }

  /** Runs forward + backward. Gradients of this batch overwrite `gradOut`. */
  async run(params: Float32Array, batch: Batch, gradOut: Float32Array, validate = true): Promise<StepOutput> {
    if (validate) validateBatch(this.train, this.config, batch);
    // Tensors over the blobs are created once per blob and reused (the data is shared, not copied).
    if (this.weightBlob !== params) {
      this.weightFeeds = {};
      for (const s of this.layout) this.weightFeeds[s.name] = new ort.Tensor('float32', params.subarray(s.offset, s.offset + s.size), [...s.shape]);
      this.weightBlob = params;
    }
    if (this.gradBlob !== gradOut) {
      this.gradFetches = { loss: null };
      for (const m of this.train.metricNames) this.gradFetches[m] = null;
      for (const s of this.layout) this.gradFetches[GRAD_PREFIX + s.name] = new ort.Tensor('float32', gradOut.subarray(s.offset, s.offset + s.size), [...s.shape]);
      this.gradBlob = gradOut;
    }
    const feeds: Record<string, ort.Tensor> = { ...this.weightFeeds! };
    let tokens = 0;
    for (const name of this.train.batchInputs) {
      const t = batch[name]!;
      if (typeof t === 'number') feeds[name] = new ort.Tensor('float32', Float32Array.of(t), []);
      else feeds[name] = t.data instanceof BigInt64Array ? new ort.Tensor('int64', t.data, t.shape) : new ort.Tensor('float32', t.data, t.shape);
      if (name === 'tokens' && typeof t !== 'number') tokens = t.data.length;
    }
    const out = await this.session.run(feeds, this.gradFetches!);
    const metrics: Record<string, number> = {};
    for (const m of this.train.metricNames) metrics[m] = Number(out[m]!.data[0]);
    return { loss: Number(out.loss!.data[0]), metrics, tokens };
  }
}
