// The worker side of EngineThread (engine-thread.ts): one BatchEngine, driven by messages.
// Outcomes (token events, results, errors) are collected while the engine runs a step and
// posted together once the step's synchronous part is over — one message per step rather
// than one per token — with the engine's stats as of that moment.

import { parentPort, workerData } from 'node:worker_threads';
import { ParameterSet } from '../gpt/config.js';
import { BpeTokenizer } from '../tokenizer/bpe-tokenizer.js';
import { BatchEngine } from './batch-engine.js';
import type { EngineOutcome, EngineSource, EngineWorkerData, MainToWorker, WorkerToMain } from './engine-thread.js';
import { serializeError } from './thread-errors.js';

const port = parentPort;
if (!port) throw new Error('engine-worker.js runs as a worker thread of EngineThread');
const { source, options, gatedSteps } = workerData as EngineWorkerData;

const send = (m: WorkerToMain): void => port.postMessage(m);

let engine: BatchEngine;
try {
  engine = await open(source);
} catch (e) {
  send({ type: 'load-failed', error: serializeError(e) });
  port.close();
  process.exit(0);
}
send({ type: 'ready', info: { manifest: engine.manifest, maxBatch: engine.maxBatch } });

// gatedSteps: the engine waits for a permit before each step; permits arrive as messages,
// in order with cancels and requests (EngineThread.permitSteps)
let permits = 0;
let permitWaiter: (() => void) | null = null;
if (gatedSteps) {
  engine.setStepGate(async () => {
    while (permits === 0) await new Promise<void>((resolve) => (permitWaiter = resolve));
    permits--;
  });
}

let outbox: EngineOutcome[] = [];
let flushScheduled = false;
const emit = (o: EngineOutcome): void => {
  outbox.push(o);
  if (!flushScheduled) {
    flushScheduled = true;
    // runs after the step's token loop and the result callbacks it settled, before the next step
    setImmediate(flush);
  }
};
function flush(): void {
  flushScheduled = false;
  const outcomes = outbox;
  outbox = [];
  send({ type: 'batch', outcomes, stats: engine.stats() });
}

const cancels = new Map<number, AbortController>();

port.on('message', (m: MainToWorker) => {
  if (m.type === 'generate') {
    const controller = new AbortController();
    cancels.set(m.id, controller);
    engine
      .generate({ ...m.params, signal: controller.signal }, (event) => emit({ type: 'token', id: m.id, event }))
      .then(
        ({ tokens: _tokens, ...result }) => emit({ type: 'done', id: m.id, result }),
        (e: unknown) => emit({ type: 'error', id: m.id, error: serializeError(e) }),
      )
      .finally(() => cancels.delete(m.id));
  } else if (m.type === 'cancel') cancels.get(m.id)?.abort();
  else if (m.type === 'permit') {
    permits += m.steps;
    const wake = permitWaiter;
    permitWaiter = null;
    wake?.();
  }
  else if (m.type === 'close') {
    void engine.close().finally(() => {
      flush();
      send({ type: 'closed' });
      port.close();
    });
  }
});

async function open(from: EngineSource): Promise<BatchEngine> {
  if (from.kind === 'artifact') return BatchEngine.load(from.dir, options);
  return BatchEngine.fromParameters(new ParameterSet(from.config, from.data), BpeTokenizer.fromJson(from.tokenizer), { ...options, meta: from.meta });
}
