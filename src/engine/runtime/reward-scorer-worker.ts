// The worker side of RewardScorerThread (reward-scorer-thread.ts): one RewardScorer,
// requests scored one after another in arrival order.

import { parentPort, workerData } from 'node:worker_threads';
import { RewardScorer, type RewardScorerOptions } from './reward-scorer.js';
import type { RewardWorkerIn, RewardWorkerOut } from './reward-scorer-thread.js';
import { serializeError } from './thread-errors.js';

const port = parentPort;
if (!port) throw new Error('reward-scorer-worker.js runs as a worker thread of RewardScorerThread');
const { dir, options } = workerData as { dir: string; options: RewardScorerOptions };
const send = (m: RewardWorkerOut, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

let scorer: RewardScorer;
try {
  scorer = await RewardScorer.load(dir, options);
} catch (e) {
  send({ type: 'load-failed', error: serializeError(e) });
  port.close();
  process.exit(0);
}
send({ type: 'ready', manifest: scorer.manifest! });

let queue: Promise<void> = Promise.resolve();
port.on('message', (m: RewardWorkerIn) => {
  if (m.type === 'close') {
    queue = queue.then(async () => {
      await scorer.release();
      port.close();
    });
    return;
  }
  queue = queue.then(() =>
    scorer.score(m.inputs).then(
      (result) => send({ type: 'scored', id: m.id, result }, [...result.scores.map((s) => s.buffer as ArrayBuffer), result.truncatedPromptTokens.buffer as ArrayBuffer]),
      (e: unknown) => send({ type: 'failed', id: m.id, error: serializeError(e) }),
    ),
  );
});
