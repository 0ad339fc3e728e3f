// The Nest wiring: PlatformModule provides the JobQueue and the JobHandlers registry
// to every role; a role that registers a handler gets a worker, started once the
// database and bus are up and stopped — handing its running job back to the queue —
// when the application closes. Embedded mode (SQLite + the database-backed bus).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Inject, Injectable, Module, type INestApplicationContext, type OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '../../../../src/config/config.js';
import { Dependencies } from '../../../../src/platform/health/dependencies.service.js';
import { JobHandlers } from '../../../../src/platform/jobs/job-handlers.js';
import { JobQueue } from '../../../../src/platform/jobs/job-queue.js';
import type { JobRecord } from '../../../../src/platform/jobs/job-repository.js';
import { PlatformModule } from '../../../../src/platform/platform.module.js';
import { METRICS } from '../../../../src/platform/tokens.js';
import type { Registry } from 'prom-client';

async function until<T>(what: string, check: () => Promise<T | null>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('JobsModule in the platform module', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'outerloop-jobs-module-'));
  let app: INestApplicationContext | undefined;
  let longJobStarted!: () => void;
  const longJobRunning = new Promise<void>((resolve) => (longJobStarted = resolve));
  let longJobAbortedBy: unknown;

  @Injectable()
  class TestRole implements OnModuleInit {
    constructor(@Inject(JobHandlers) private readonly handlers: JobHandlers) {}
    onModuleInit(): void {
      this.handlers.register('evaluation', async (ctx) => {
        await ctx.progress({ step: 1, total: 2, loss: 0.25, metrics: { reward: 0.5, free_form_key: 3 } });
        return { candidate: ctx.job.params.candidate, score: 0.75 };
      });
      this.handlers.register('reward_model', async (ctx) => {
        longJobStarted();
        await new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => {
            longJobAbortedBy = ctx.signal.reason;
            reject(ctx.signal.reason as Error);
          }),
        );
      });
    }
  }
  @Module({ providers: [TestRole] })
  class TestRoleModule {}

  before(async () => {
    const config = loadConfig({ OUTERLOOP_MODE: 'embedded', OUTERLOOP_DATA_DIR: dataDir, OUTERLOOP_ROLES: 'trainer', OUTERLOOP_LOG_LEVEL: 'error' });
    @Module({ imports: [PlatformModule.forRoot(config), TestRoleModule] })
    class TestApp {}
    app = await NestFactory.createApplicationContext(TestApp, { logger: false, abortOnError: false });
    await app.get(Dependencies).ready;
  });
  after(async () => {
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a role registers a handler; the job it enqueues through JobQueue runs to success', async () => {
    const queue = app!.get(JobQueue);
    const { job } = await queue.enqueue('evaluation', { candidate: 'policy-v3', suites: ['facts'] });
    const done = await until('the job to succeed', async () => {
      const j = await queue.get(job.id);
      return j.state === 'succeeded' ? j : null;
    });
    assert.deepEqual(done.result, { candidate: 'policy-v3', score: 0.75 });
    const metrics = await app!.get<Registry>(METRICS).metrics();
    assert.match(metrics, /outerloop_job_attempts_total\{[^}]*kind="evaluation",outcome="succeeded"[^}]*\} 1\n/);
    assert.match(metrics, /outerloop_jobs_running\{[^}]*kind="evaluation"[^}]*\} 0\n/);
    // the worker hands progress to the metrics: the last report's figures, per kind
    assert.match(metrics, /outerloop_job_progress_ratio\{[^}]*kind="evaluation"[^}]*\} 0.5\n/);
    assert.match(metrics, /outerloop_training_loss\{[^}]*kind="evaluation"[^}]*\} 0.25\n/);
    assert.match(metrics, /outerloop_training_reward\{[^}]*kind="evaluation"[^}]*\} 0.5\n/);
    assert.doesNotMatch(metrics, /free_form_key/);
  });

  it('closing the application stops the worker and gives its running job back to the queue', async () => {
    const queue = app!.get(JobQueue);
    const { job } = await queue.enqueue('reward_model', { snapshotId: 'snap-1' });
    await longJobRunning;
    const registry = app!.get<Registry>(METRICS);
    await app!.close();
    assert.match(await registry.metrics(), /outerloop_job_attempts_total\{[^}]*kind="reward_model",outcome="requeued"[^}]*\} 1\n/);
    app = undefined;
    assert.equal((longJobAbortedBy as Error | undefined)?.name, 'WorkerStoppingError');

    // reopen the same database: the job waits for the next worker, its attempt not used up
    const config = loadConfig({ OUTERLOOP_MODE: 'embedded', OUTERLOOP_DATA_DIR: dataDir, OUTERLOOP_ROLES: 'trainer', OUTERLOOP_LOG_LEVEL: 'error' });
    @Module({ imports: [PlatformModule.forRoot(config)] })
    class Reopened {}
    app = await NestFactory.createApplicationContext(Reopened, { logger: false, abortOnError: false });
    await app.get(Dependencies).ready;
    const released: JobRecord = await app.get(JobQueue).get(job.id);
    assert.equal(released.state, 'queued');
    assert.equal(released.attempts, 0);
    assert.equal(released.leaseOwner, null);
  });
});
