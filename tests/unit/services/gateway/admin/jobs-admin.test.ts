// The jobs and models admin API over a real JobQueue and model registry on SQLite: a job
// is enqueued, read and cancelled; bad params are a 400 naming the field; unknown ids are
// 404; reward models are listed with ?kind=reward. Every route is admin-scoped in ROUTE_SCOPES.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BadRequestException, NotFoundException } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { JobQueue } from '../../../../../src/platform/jobs/job-queue.js';
import { TypeOrmJobRepository } from '../../../../../src/platform/jobs/typeorm-job-repository.js';
import { createDataSource, runMigrations } from '../../../../../src/platform/persistence/data-source.js';
import { createRepositories, type Repositories } from '../../../../../src/platform/persistence/repositories/index.js';
import { JobsAdminController } from '../../../../../src/services/gateway/admin/jobs-admin.controller.js';
import { ModelsController } from '../../../../../src/services/gateway/admin/models.controller.js';
import { GatewayError } from '../../../../../src/services/gateway/errors.js';
import { ROUTE_SCOPES } from '../../../../../src/services/gateway/http/gateway-hooks.js';
import { MemoryBus } from '../support/memory-bus.js';

const message = (e: unknown): string => JSON.stringify((e as BadRequestException).getResponse());

describe('jobs and models admin API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outerloop-admin-'));
  let ds: DataSource;
  let repos: Repositories;
  let jobs: JobsAdminController;
  let models: ModelsController;

  before(async () => {
    ds = createDataSource({ type: 'better-sqlite3', path: join(dir, 'db.sqlite') });
    await ds.initialize();
    await runMigrations(ds);
    repos = createRepositories(ds);
    jobs = new JobsAdminController(new JobQueue(new TypeOrmJobRepository(ds.manager), new MemoryBus()));
    // the reward listing reads the registry alone
    models = new ModelsController(repos.modelRegistry, null as never, repos.transactions, null as never, null as never);
    const sha = (c: string) => c.repeat(64);
    await repos.modelRegistry.register({ id: 'policy-a', kind: 'policy', artifactPath: 'models/policy/a', sha256: sha('a'), status: 'production' });
    await repos.modelRegistry.register({ id: 'reward-b', kind: 'reward', artifactPath: 'models/reward/b', sha256: sha('b') });
    await repos.modelRegistry.register({ id: 'reward-c', kind: 'reward', artifactPath: 'models/reward/c', sha256: sha('c') });
    await repos.modelRegistry.transition('reward-c', 'rejected');
  });
  after(async () => {
    await ds?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('enqueues a ppo job with its defaults applied, reads it, cancels it', async () => {
    const { job, created } = await jobs.enqueue({ kind: 'ppo', params: { rewardModelVersion: 'reward-b', steps: 8 } });
    assert.equal(created, true);
    assert.equal(job.state, 'queued');
    assert.deepEqual(job.params, { rewardModelVersion: 'reward-b', steps: 8, seed: 0, objective: 'mean' });
    assert.equal((await jobs.show(job.id)).id, job.id);
    assert.equal((await jobs.cancel(job.id)).state, 'cancelled');
  });

  it('answers 400 naming the field, and 404 for an unknown job', async () => {
    await assert.rejects(jobs.enqueue({ kind: 'ppo', params: { rewardModelVersion: 'reward-b', steps: -1 } }), (e: unknown) => e instanceof BadRequestException && /params\.steps/.test(message(e)));
    await assert.rejects(jobs.enqueue({ kind: 'ppo', params: { rewardModelVersion: 'reward-b', steps: 2, stpes: 3 } }), (e: unknown) => e instanceof BadRequestException && /stpes/.test(message(e)));
    await assert.rejects(async () => jobs.enqueue({ kind: 'sft', params: {} }), (e: unknown) => e instanceof BadRequestException && /kind/.test(message(e)));
    await assert.rejects(jobs.show('no-such-job'), (e: unknown) => e instanceof NotFoundException);
    await assert.rejects(jobs.cancel('no-such-job'), (e: unknown) => e instanceof NotFoundException);
  });

  it('lists reward models with ?kind=reward, every status included; an unknown kind is a 400 naming it', async () => {
    const listed = (await models.list('reward')) as { data: { id: string; status: string }[] };
    assert.deepEqual(listed.data.map((v) => [v.id, v.status]).sort(), [['reward-b', 'candidate'], ['reward-c', 'rejected']]);
    await assert.rejects(models.list('critic'), (e: unknown) => e instanceof GatewayError && e.status === 400 && /kind/.test(e.message));
  });

  it('puts every route behind the admin scope', () => {
    for (const route of ['POST /v1/admin/jobs', 'GET /v1/admin/jobs/:id', 'POST /v1/admin/jobs/:id/cancel', 'GET /v1/admin/models']) assert.equal(ROUTE_SCOPES[route], 'admin', route);
  });
});
