// The worker side of TrainThread (train-thread.ts): imports the training program named by
// URL, runs it once with the params it was given, posts progress after every step and the
// result or the error at the end. Nothing else runs on this thread.

import { parentPort, workerData } from 'node:worker_threads';
import { serializeError } from '../runtime/thread-errors.js';
import type { TrainWorkerData, TrainWorkerMessage } from './train-thread.js';
import type { TrainingContext, TrainingProgram } from './training-program.js';

const port = parentPort;
if (!port) throw new Error('train-worker.js runs as a worker thread of TrainThread');
const { programUrl, params, cancelFlag } = workerData as TrainWorkerData;
const cancel = new Int32Array(cancelFlag);
const send = (m: TrainWorkerMessage): void => port.postMessage(m);

const context: TrainingContext = {
  progress: (progress) => send({ type: 'progress', progress }),
  get cancelRequested() {
    return Atomics.load(cancel, 0) === 1;
  },
};

try {
  const mod = (await import(programUrl)) as { trainingProgram?: TrainingProgram<unknown, unknown> };
  const program = mod.trainingProgram;
  if (!program || typeof program.run !== 'function') throw new TypeError(`${programUrl}: the module exports no trainingProgram with a run(params, context) method`);
  send({ type: 'done', result: await program.run(params, context) });
} catch (e) {
  send({ type: 'failed', error: serializeError(e) });
}
port.close();
