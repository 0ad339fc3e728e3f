// The orchestrator's storage on PostgreSQL: the loop lease (one holder among
// concurrent contenders, take-over after expiry, fencing) and compare-and-set writes of
// an iteration (a stale writer is refused, nothing applied).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import type { LoopIterationRecord } from '../../../src/domain/loop.js';
import { Logger } from '../../../src/platform/logging/logger.js';
import { connectWithRetry, createDataSource, runMigrations } from '../../../src/platform/persistence/data-source.js';
import { createRepositories, LoopIterationConflictError, type Repositories } from '../../../src/platform/persistence/repositories/index.js';
import { createTestDatabase, requirePostgres } from '../support/services.js';

const postgres = await requirePostgres();

describe('[postgres] orchestrator storage', { skip: postgres.skip }, () => {
  let ds: DataSource;
  let repos: Repositories;
  let drop: () => Promise<void>;

  before(async () => {
    const db = await createTestDatabase(postgres.info!, 'loop');
    drop = db.drop;
    ds = createDataSource({ type: 'postgres', url: db.url }, { poolSize: 8 });
    await connectWithRetry(ds, new Logger('test'), { maxAttempts: 5 });
    await runMigrations(ds);
    repos = createRepositories(ds);
  });
  after(async () => {
    await ds?.destroy();
    await drop?.();
  });

  it('the lease: exactly one of 8 concurrent contenders wins; it renews; a successor takes it only after expiry, with a new fence', async () => {
    const now = new Date();
    const wins = await Promise.all(Array.from({ length: 8 }, (_, i) => repos.loopLeases.acquire('loop', `o${i}`, 1000, now)));
    assert.equal(wins.filter(Boolean).length, 1);
    const holder = `o${wins.indexOf(true)}`;
    const fence = (await repos.loopLeases.get('loop'))!.fence;
    assert.equal(await repos.loopLeases.acquire('loop', holder, 1000, now), true, 'the holder renews');
    assert.equal(await repos.loopLeases.acquire('loop', 'successor', 1000, new Date(now.getTime() + 500)), false, 'not before expiry');
    assert.equal(await repos.loopLeases.acquire('loop', 'successor', 1000, new Date(now.getTime() + 5000)), true, 'after expiry');
    const lease = (await repos.loopLeases.get('loop'))!;
    assert.equal(lease.owner, 'successor');
    assert.equal(lease.fence, fence + 1);
    await repos.loopLeases.setPaused('loop', true);
    assert.equal((await repos.loopLeases.get('loop'))!.paused, true);
    await repos.loopLeases.release('loop', 'successor');
    assert.equal((await repos.loopLeases.get('loop'))!.owner, null);
  });

  it('an iteration is written compare-and-set on its revision: the stale writer is refused and changes nothing', async () => {
    const now = new Date();
    const row: LoopIterationRecord = {
      id: 'loop-pg-1', state: 'snapshot', stateHistory: [{ state: 'snapshot', at: now.toISOString() }], trigger: 'manual', steps: {}, pausedFrom: null,
      snapshotId: null, rewardModelId: null, candidateModelId: null, error: null, attempt: 0, revision: 0, createdAt: now, updatedAt: now,
    };
    await repos.loopIterations.insert(row);
    const a = { ...row, state: 'paused' as const, pausedFrom: 'snapshot' as const, revision: 1 };
    const b = { ...row, state: 'failed' as const, error: 'stale', revision: 1 };
    await repos.loopIterations.update(a);
    await assert.rejects(repos.loopIterations.update(b), LoopIterationConflictError);
    const stored = (await repos.loopIterations.get('loop-pg-1'))!;
    assert.deepEqual([stored.state, stored.pausedFrom, stored.error, stored.revision], ['paused', 'snapshot', null, 1]);
    assert.deepEqual((await repos.loopIterations.findUnfinished()).map((i) => i.id), ['loop-pg-1']);
  });
});
