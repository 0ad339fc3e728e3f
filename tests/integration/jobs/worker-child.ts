// A job worker in its own process, so the contract test can SIGKILL it mid-job: the
// real crash (no finally blocks, no lease release, no last write).
//
// It runs `evaluation` jobs with a handler that saves a checkpoint after step 1
// (through the ArtifactStore, under the job's checkpoint prefix), reports progress,
// prints "RUNNING <jobId> attempt <n> step 1" on stdout, and then waits — for the
// kill. Configuration: env OUTERLOOP_TEST_JOB_CHILD (JSON, WorkerChildConfig).
// Prints "READY <owner>" once its worker is started.
import { LocalArtifactStore } from '../../../src/platform/artifacts/local-artifact-store.js';
import { Logger } from '../../../src/platform/logging/logger.js';
import { JobHandlers } from '../../../src/platform/jobs/job-handlers.js';
import { CHECKPOINT_FILE, type WorkerChildConfig } from './child-config.js';
import { openNode } from './node.js';

async function main(): Promise<void> {
  const raw = process.env.OUTERLOOP_TEST_JOB_CHILD;
  if (!raw) throw new Error('OUTERLOOP_TEST_JOB_CHILD (JSON config) is not set');
  const config = JSON.parse(raw) as WorkerChildConfig;
  const node = await openNode(config.node, new Logger('worker-child'));
  const store = new LocalArtifactStore(config.artifactDir);
  const handlers = new JobHandlers();
  handlers.register('evaluation', async (ctx) => {
    await store.put(`${ctx.checkpoint.prefix}${CHECKPOINT_FILE}`, JSON.stringify({ step: 1, attempt: ctx.attempt }));
    await ctx.progress({ step: 1, total: 3, loss: 0.5 });
    process.stdout.write(`RUNNING ${ctx.job.id} attempt ${ctx.attempt} step 1\n`);
    // the parent kills this process now; stopping otherwise would be a test bug
    await new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)));
  });
  const worker = await node.startWorker(handlers, { leaseMs: config.leaseMs, heartbeatMs: config.heartbeatMs });
  process.stdout.write(`READY ${worker.owner}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`worker-child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
