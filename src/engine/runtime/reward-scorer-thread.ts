// RewardScorerThread: a RewardScorer on its own worker thread, so a process that serves
// HTTP (the gateway, an admin endpoint, PPO's orchestration) scores without holding its
// event loop while onnxruntime runs. Requests are queued on the worker and answered in
// order; the token ids go over as Int32Arrays, the scores come back as Float32Arrays.
//
//   main → worker  workerData { dir, options }; { type: 'score', id, inputs } | { type: 'close' }
//   worker → main  { type: 'ready', members, manifest } | { type: 'load-failed', error }
//                  { type: 'scored', id, result } | { type: 'failed', id, error }

import { Worker } from 'node:worker_threads';
import type { RewardManifest } from '../artifact/reward-artifact.js';
import type { RewardScores, RewardScorerOptions, RewardScoringInput } from './reward-scorer.js';
import { EngineClosedError } from './batch-engine.js';
import { deserializeError, type SerializedError } from './thread-errors.js';

export type RewardWorkerIn = { type: 'score'; id: number; inputs: { prompt: Int32Array; response: Int32Array }[] } | { type: 'close' };
export type RewardWorkerOut =
  | { type: 'ready'; manifest: RewardManifest }
  | { type: 'load-failed'; error: SerializedError }
  | { type: 'scored'; id: number; result: RewardScores }
  | { type: 'failed'; id: number; error: SerializedError };

export class RewardScorerThread {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: RewardScores) => void; reject: (e: Error) => void }>();
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    readonly manifest: RewardManifest,
  ) {
    worker.on('message', (m: RewardWorkerOut) => {
      if (m.type !== 'scored' && m.type !== 'failed') return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.type === 'scored') p?.resolve(m.result);
      else p?.reject(deserializeError(m.error));
    });
    worker.on('exit', () => this.failAll(new EngineClosedError('reward scorer thread exited')));
    worker.on('error', (e) => this.failAll(e));
  }

  /** Load a reward artifact on a new worker thread. */
  static load(dir: string, options: RewardScorerOptions = {}): Promise<RewardScorerThread> {
    const worker = new Worker(new URL('./reward-scorer-worker.js', import.meta.url), { workerData: { dir, options } });
    return new Promise((resolve, reject) => {
      const onFirst = (m: RewardWorkerOut): void => {
        worker.off('message', onFirst);
        if (m.type === 'ready') resolve(new RewardScorerThread(worker, m.manifest));
        else if (m.type === 'load-failed') {
          reject(deserializeError(m.error));
          void worker.terminate();
        }
      };
      worker.on('message', onFirst);
      worker.once('error', reject);
    });
  }

  get members(): number {
    return this.manifest.members;
  }

  score(inputs: readonly RewardScoringInput[]): Promise<RewardScores> {
    if (this.closed) return Promise.reject(new EngineClosedError('reward scorer thread is closed'));
    const id = this.nextId++;
    const message: RewardWorkerIn = { type: 'score', id, inputs: inputs.map((x) => ({ prompt: Int32Array.from(x.prompt), response: Int32Array.from(x.response) })) };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(message);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.worker.postMessage({ type: 'close' } satisfies RewardWorkerIn);
    await new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
  }

  private failAll(e: Error): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
