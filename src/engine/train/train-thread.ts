// TrainThread: a training program running on its own worker thread.
//
// onnxruntime-node's `session.run` computes on the calling thread, so a training step on
// the main thread blocks its event loop for the whole step (hundreds of milliseconds at
// the reference size): in embedded mode, where every role shares one process, HTTP and
// SSE would stall behind it. TrainThread moves the run to a worker, as EngineThread does
// for serving, and keeps the main thread free for I/O.
//
// The engine cannot import the algorithm (src/rlhf), so the caller names the program by
// module URL and passes JSON-like params (see training-program.ts for the contract):
//
//   const run = TrainThread.start(new URL('./train-base.program.js', import.meta.url), params, { onProgress });
//   const result = await run.done;
//
// Protocol:
//   main → worker  workerData { programUrl, params, cancelFlag }
//                  cancelFlag: a SharedArrayBuffer (Int32 0 → 1 on cancel). The worker's
//                  event loop is busy while a step runs, so a cancel message would wait in
//                  its queue; the flag is read synchronously between steps instead.
//   worker → main  { type: 'progress', progress }   after every optimizer step
//                  { type: 'done', result }
//                  { type: 'failed', error }          a SerializedError: the main side rebuilds
//                                                     the class (NonFiniteError keeps its tensor)

import { Worker } from 'node:worker_threads';
import { EngineRunError } from '../runtime/batch-engine.js';
import { deserializeError, type SerializedError } from '../runtime/thread-errors.js';
import type { TrainProgress } from './trainer.js';

export type TrainWorkerMessage = { type: 'progress'; progress: TrainProgress } | { type: 'done'; result: unknown } | { type: 'failed'; error: SerializedError };

export interface TrainWorkerData {
  programUrl: string;
  params: unknown;
  cancelFlag: SharedArrayBuffer;
}

export interface TrainThreadOptions {
  /** Runs on the calling thread, once per optimizer step, in order. */
  onProgress?: (p: TrainProgress) => void;
  /** Aborting requests a cancel (as cancel()). */
  signal?: AbortSignal;
}

export class TrainThread<Result> {
  /** Settles with the program's result, or its error (TrainingCancelledError after a cancel). */
  readonly done: Promise<Result>;
  private readonly cancelFlag: Int32Array;
  private latest: TrainProgress | null = null;

  private constructor(programUrl: URL, params: unknown, opts: TrainThreadOptions) {
    const shared = new SharedArrayBuffer(4);
    this.cancelFlag = new Int32Array(shared);
    const data: TrainWorkerData = { programUrl: programUrl.href, params, cancelFlag: shared };
    const worker = new Worker(new URL('./train-worker.js', import.meta.url), { workerData: data });
    const abort = (): void => this.cancel();
    if (opts.signal?.aborted) this.cancel();
    else opts.signal?.addEventListener('abort', abort, { once: true });
    this.done = new Promise<Result>((resolve, reject) => {
      let settled = false;
      const settle = (how: () => void): void => {
        if (settled) return;
        settled = true;
        opts.signal?.removeEventListener('abort', abort);
        how();
      };
      worker.on('message', (m: TrainWorkerMessage) => {
        if (m.type === 'progress') {
          this.latest = m.progress;
          try {
            opts.onProgress?.(m.progress);
          } catch (e) {
            // a throwing consumer stops the run: cancel it and report the consumer's error
            this.cancel();
            settle(() => reject(e));
          }
        } else if (m.type === 'done') settle(() => resolve(m.result as Result));
        else settle(() => reject(deserializeError(m.error)));
      });
      worker.on('error', (e) => settle(() => reject(e)));
      worker.once('exit', (code) => settle(() => reject(new EngineRunError(`the training thread exited (code ${code}) without a result`))));
    });
  }

  /** Start `programUrl`'s trainingProgram on a new worker thread with `params`. */
  static start<Params, Result>(programUrl: URL, params: Params, opts: TrainThreadOptions = {}): TrainThread<Result> {
    return new TrainThread<Result>(programUrl, params, opts);
  }

  /**
   * Ask the program to stop at its next step boundary. Idempotent. There is deliberately
   * no hard stop: terminating the worker while onnxruntime runs a step aborts the whole
   * process ('terminate called after throwing an instance of Napi::Error'), so a caller
   * that must give up (a lost job lease) cancels and ignores the outcome.
   */
  cancel(): void {
    Atomics.store(this.cancelFlag, 0, 1);
  }

  /** The last progress received, or null before the first step ends. */
  get progress(): TrainProgress | null {
    return this.latest;
  }
}
