// EngineThread: a BatchEngine running on its own worker thread.
//
// onnxruntime-node's `session.run` computes on the calling thread (its promise only
// defers the call to a later tick), so an engine on the main thread blocks its event
// loop for the whole of every prefill and decode step: HTTP parsing, SSE writes and
// timers wait behind the model. A serving process therefore keeps the engine on a
// worker and the main thread free for I/O — the split vLLM makes between its API server
// and its engine core.
//
// The worker serves an artifact directory (load) or weights handed over in memory
// (fromParameters: the blob is copied once and transferred, the tokenizer as its JSON).
//
// Protocol (structured clone over the worker's message port):
//   main → worker  { type: 'generate', id, params }   (params without the AbortSignal)
//                  { type: 'cancel', id }             (the caller's signal aborted)
//                  { type: 'close' }
//   worker → main  { type: 'ready', info }            once the artifact is loaded
//                  { type: 'load-failed', error }
//                  { type: 'batch', messages, stats } one per engine step at most: token
//                                                     events, results and errors in the order
//                                                     the engine produced them
//                  { type: 'closed' }
// A token event crosses the boundary once: the main side rebuilds GenerateResult.tokens
// from the streamed events instead of receiving them again with the result.

import { Worker } from 'node:worker_threads';
import type { ArtifactManifest, ArtifactMeta } from '../artifact/artifact.js';
import type { GptConfig, ParameterSet } from '../gpt/config.js';
import type { BpeTokenizer } from '../tokenizer/bpe-tokenizer.js';
import { EngineClosedError, EngineRunError, type BatchEngineOptions, type BatchEngineStats, type GenerateParams, type GenerateResult, type TokenEvent } from './batch-engine.js';
import { deserializeError, type SerializedError } from './thread-errors.js';

export { deserializeError, serializeError, type SerializedError } from './thread-errors.js';

/** What the worker reports once loaded (the config and context are in the manifest). */
export interface EngineThreadInfo {
  manifest: ArtifactManifest;
  maxBatch: number;
}

/** What the worker serves: an artifact directory, or weights in memory (plain data for the clone). */
export type EngineSource =
  | { kind: 'artifact'; dir: string }
  | { kind: 'parameters'; config: GptConfig; data: Float32Array; tokenizer: string; meta: ArtifactMeta };

export interface EngineWorkerData {
  source: EngineSource;
  options: BatchEngineOptions;
  /** Steps run only as permitted by permitSteps() (deterministic tests). */
  gatedSteps?: boolean;
}

export interface EngineThreadOptions extends BatchEngineOptions {
  /**
   * The worker's engine runs a scheduling step only when permitted (`permitSteps(n)`).
   * Messages reach the worker in order, so a cancel posted before a permit is seen before
   * the step it permits: a test can act "between token 3 and token 4" deterministically.
   */
  gatedSteps?: boolean;
}

export type MainToWorker =
  | { type: 'generate'; id: number; params: Omit<GenerateParams, 'signal'> }
  | { type: 'cancel'; id: number }
  | { type: 'permit'; steps: number }
  | { type: 'close' };

export type EngineOutcome =
  | { type: 'token'; id: number; event: TokenEvent }
  | { type: 'done'; id: number; result: Omit<GenerateResult, 'tokens'> }
  | { type: 'error'; id: number; error: SerializedError };

export type WorkerToMain =
  | { type: 'ready'; info: EngineThreadInfo }
  | { type: 'load-failed'; error: SerializedError }
  | { type: 'batch'; outcomes: EngineOutcome[]; stats: BatchEngineStats }
  | { type: 'closed' };

interface Pending {
  resolve: (r: GenerateResult) => void;
  reject: (e: unknown) => void;
  onToken?: (t: TokenEvent) => void;
  tokens: TokenEvent[];
  detach?: () => void;
}

export class EngineThread {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private lastStats: BatchEngineStats = { activeRows: 0, waiting: 0, lastBatchSize: 0, steps: 0 };
  private closed = false;
  private closeRequested = false;
  private readonly failureListeners: Array<(error: Error) => void> = [];
  private exited: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    readonly info: EngineThreadInfo,
  ) {
    worker.on('message', (m: WorkerToMain) => this.onMessage(m));
    this.exited = new Promise((resolve) => {
      worker.once('exit', (code) => {
        this.closed = true;
        const error = new EngineRunError(`the engine thread exited (code ${code})`);
        for (const [id, p] of this.pending) this.settle(id, p, () => p.reject(error));
        if (!this.closeRequested) for (const listener of this.failureListeners.splice(0)) listener(error);
        resolve();
      });
    });
    worker.on('error', () => {
      /* reported through 'exit', which fails every pending request */
    });
  }

  /** Start a worker thread, load and verify the artifact there (see BatchEngine.load). */
  static async load(artifactDir: string, options: EngineThreadOptions = {}): Promise<EngineThread> {
    const { gatedSteps, ...engineOptions } = options;
    return EngineThread.start({ source: { kind: 'artifact', dir: artifactDir }, options: engineOptions, gatedSteps: gatedSteps === true }, artifactDir);
  }

  /** With `gatedSteps`: lets the worker's engine run `steps` more scheduling steps. */
  permitSteps(steps: number): void {
    this.post({ type: 'permit', steps });
  }

  /**
   * Start a worker thread serving weights in memory (see BatchEngine.fromParameters): for
   * generating from the weights being trained (PPO rollouts, evaluation) off the event
   * loop. The parameter blob is copied to the worker; `params` stays the caller's.
   */
  static async fromParameters(params: ParameterSet, tokenizer: BpeTokenizer, options: BatchEngineOptions & { meta?: ArtifactMeta } = {}): Promise<EngineThread> {
    const { meta, ...engineOptions } = options;
    const source: EngineSource = { kind: 'parameters', config: params.config, data: params.data.slice(), tokenizer: tokenizer.serialize(), meta: meta ?? { kind: 'policy' } };
    return EngineThread.start({ source, options: engineOptions }, 'in-memory parameters');
  }

  private static async start(data: EngineWorkerData, what: string): Promise<EngineThread> {
    const transfer = data.source.kind === 'parameters' ? [data.source.data.buffer as ArrayBuffer] : [];
    const worker = new Worker(new URL('./engine-worker.js', import.meta.url), { workerData: data, transferList: transfer });
    const info = await new Promise<EngineThreadInfo>((resolve, reject) => {
      const onExit = (code: number): void => reject(new EngineRunError(`the engine thread exited (code ${code}) while loading ${what}`));
      const onError = (e: Error): void => reject(e);
      worker.once('exit', onExit);
      worker.once('error', onError);
      worker.once('message', (m: WorkerToMain) => {
        worker.off('exit', onExit);
        worker.off('error', onError);
        if (m.type === 'ready') resolve(m.info);
        else if (m.type === 'load-failed') {
          void worker.terminate();
          reject(deserializeError(m.error));
        } else reject(new EngineRunError(`engine thread: unexpected first message ${m.type}`));
      });
    });
    return new EngineThread(worker, info);
  }

  get manifest(): ArtifactManifest {
    return this.info.manifest;
  }

  get config(): GptConfig {
    return this.info.manifest.config;
  }

  get maxBatch(): number {
    return this.info.maxBatch;
  }

  /** As of the engine's last step (the worker reports them with every step's events). */
  stats(): BatchEngineStats {
    return { ...this.lastStats };
  }

  /** Same contract as BatchEngine.generate; `onToken` runs on this thread, in order. */
  generate(params: GenerateParams, onToken?: (t: TokenEvent) => void): Promise<GenerateResult> {
    if (this.closed) return Promise.reject(new EngineClosedError('generate: the engine is closed'));
    const { signal, ...rest } = params;
    const id = this.nextId++;
    return new Promise<GenerateResult>((resolve, reject) => {
      const p: Pending = { resolve, reject, onToken, tokens: [] };
      this.pending.set(id, p);
      this.post({ type: 'generate', id, params: rest });
      if (signal) {
        const abort = (): void => this.post({ type: 'cancel', id });
        if (signal.aborted) abort();
        else {
          signal.addEventListener('abort', abort, { once: true });
          p.detach = () => signal.removeEventListener('abort', abort);
        }
      }
    });
  }

  /** `listener` runs once if the thread ends without close() (a crash); see PolicyBackend.onFailure. */
  onFailure(listener: (error: Error) => void): void {
    this.failureListeners.push(listener);
  }

  /** Fail queued and running requests with EngineClosedError, release the sessions, end the thread. */
  async close(): Promise<void> {
    this.closeRequested = true;
    if (!this.closed) {
      this.closed = true;
      this.post({ type: 'close' });
      const timeout = setTimeout(() => void this.worker.terminate(), 10_000);
      await this.exited;
      clearTimeout(timeout);
    }
    await this.exited;
  }

  private post(m: MainToWorker): void {
    this.worker.postMessage(m);
  }

  private onMessage(m: WorkerToMain): void {
    if (m.type === 'closed') {
      void this.worker.terminate();
      return;
    }
    if (m.type !== 'batch') return;
    this.lastStats = m.stats;
    for (const o of m.outcomes) {
      const p = this.pending.get(o.id);
      if (!p) continue;
      if (o.type === 'token') {
        p.tokens.push(o.event);
        try {
          p.onToken?.(o.event);
        } catch (e) {
          // as in BatchEngine: a throwing consumer fails its own request only
          this.post({ type: 'cancel', id: o.id });
          this.settle(o.id, p, () => p.reject(e));
        }
      } else if (o.type === 'done') this.settle(o.id, p, () => p.resolve({ ...o.result, tokens: p.tokens }));
      else this.settle(o.id, p, () => p.reject(deserializeError(o.error)));
    }
  }

  private settle(id: number, p: Pending, how: () => void): void {
    this.pending.delete(id);
    p.detach?.();
    how();
  }
}
