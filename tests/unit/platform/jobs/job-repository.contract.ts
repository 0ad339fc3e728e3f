// The JobRepository's state machine and lease fencing, statement by statement, run
// on SQLite by the unit suite (job-repository.test.ts) and on PostgreSQL by the
// integration suite (tests/integration/jobs/repository-postgres.test.ts). The
// worker-level contract (tests/integration/jobs/job.contract.ts) builds on this.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import type { JobKind } from '../../../../src/domain/jobs.js';
import { IdempotencyConflictError, type JobRecord, type Lease, type NewJob } from '../../../../src/platform/jobs/job-repository.js';
import { TypeOrmJobRepository } from '../../../../src/platform/jobs/typeorm-job-repository.js';
import { JobEntity } from '../../../../src/platform/persistence/entities/job.entity.js';
import { runMigrations } from '../../../../src/platform/persistence/data-source.js';

const LONG_LEASE = 60_000;

function newJob(kind: JobKind, over: Partial<NewJob> = {}): NewJob {
  const params = kind === 'evaluation' ? { candidate: 'policy-v2', suites: ['facts'], seed: 0 } : { snapshotId: 'snap-1', seed: 0 };
  return { id: randomUUID(), kind, params, idempotencyKey: null, maxAttempts: 3, ...over };
}

/** wait until the clock (the database's, on this machine) has moved past `t` */
async function clockPast(t: Date): Promise<void> {
  while (Date.now() <= t.getTime() + 1) await new Promise((resolve) => setTimeout(resolve, 2));
}

function leaseOf(job: JobRecord): Lease {
  return { jobId: job.id, owner: job.leaseOwner!, attempt: job.attempts };
}

/**
 * @param open   a fresh, initialized, NOT migrated data source on an empty database
 */
export function jobRepositoryContract(label: string, open: () => Promise<DataSource>, close: (ds: DataSource) => Promise<void>): void {
  describe(`${label} JobRepository contract`, () => {
    let ds: DataSource;
    let repo: TypeOrmJobRepository;
    // each test uses its own kind set or clears the table: claims see every job of a kind
    const clear = () => ds.getRepository(JobEntity).clear();

    before(async () => {
      ds = await open();
      await runMigrations(ds);
      repo = new TypeOrmJobRepository(ds.manager);
    });
    after(async () => {
      if (ds) await close(ds);
    });

    /** expire a running job's lease now (what a dead worker's silence does after leaseMs) */
    async function lapse(id: string): Promise<void> {
      await ds.getRepository(JobEntity).update({ id }, { leaseExpiresAt: new Date(Date.now() - 60_000) });
    }

    it(`${label} insert stores a queued job; the same idempotency key returns it, another kind is refused`, async () => {
      await clear();
      const first = await repo.insert(newJob('evaluation', { idempotencyKey: 'it-1:evaluate' }));
      assert.equal(first.created, true);
      assert.equal(first.job.state, 'queued');
      assert.equal(first.job.attempts, 0);
      assert.equal(first.job.cancelRequested, false);
      assert.deepEqual(first.job.params, { candidate: 'policy-v2', suites: ['facts'], seed: 0 });
      assert.ok(first.job.createdAt instanceof Date && Math.abs(first.job.createdAt.getTime() - Date.now()) < 60_000, 'stamped by the database clock');

      const again = await repo.insert(newJob('evaluation', { idempotencyKey: 'it-1:evaluate', params: { candidate: 'other', suites: ['x'], seed: 1 } }));
      assert.equal(again.created, false);
      assert.equal(again.job.id, first.job.id);
      assert.equal(again.job.params.candidate, 'policy-v2', 'the first job stands');
      await assert.rejects(repo.insert(newJob('reward_model', { idempotencyKey: 'it-1:evaluate' })), IdempotencyConflictError);
      // jobs without a key never collide
      assert.equal((await repo.insert(newJob('evaluation'))).created, true);
      assert.equal((await repo.insert(newJob('evaluation'))).created, true);
      assert.equal((await repo.list()).length, 3);
    });

    it(`${label} claimNext takes the oldest runnable job of the given kinds, once`, async () => {
      await clear();
      const a = (await repo.insert(newJob('evaluation'))).job;
      // "oldest" is created_at, stamped to the millisecond: b must be stamped later
      // than a, or the two are equally old and ordered by id (a random UUID)
      await clockPast(a.createdAt);
      const b = (await repo.insert(newJob('evaluation'))).job;
      assert.ok(b.createdAt > a.createdAt);
      await repo.insert(newJob('ppo', { params: { rewardModelVersion: 'rm-1', steps: 10, seed: 0, objective: 'mean' } }));
      const first = await repo.claimNext('w1', ['evaluation', 'reward_model'], LONG_LEASE);
      assert.equal(first.claimed?.id, a.id, 'oldest first');
      assert.equal(first.claimed?.state, 'running');
      assert.equal(first.claimed?.attempts, 1);
      assert.equal(first.claimed?.leaseOwner, 'w1');
      assert.ok(first.claimed!.leaseExpiresAt! > first.claimed!.heartbeatAt!, 'the lease runs ahead of the heartbeat');
      assert.ok(first.claimed?.startedAt);
      assert.equal((await repo.claimNext('w2', ['evaluation'], LONG_LEASE)).claimed?.id, b.id);
      assert.equal((await repo.claimNext('w3', ['evaluation'], LONG_LEASE)).claimed, null, 'a live lease is not taken');
      assert.equal((await repo.claimNext('w3', [], LONG_LEASE)).claimed, null);
    });

    it(`${label} a lapsed lease is taken over as the next attempt, and the old holder is fenced out`, async () => {
      await clear();
      const job = (await repo.insert(newJob('evaluation'))).job;
      const old = (await repo.claimNext('dead-worker', ['evaluation'], LONG_LEASE)).claimed!;
      await lapse(job.id);
      const taken = (await repo.claimNext('successor', ['evaluation'], LONG_LEASE)).claimed!;
      assert.equal(taken.id, job.id);
      assert.equal(taken.attempts, 2);
      assert.equal(taken.leaseOwner, 'successor');
      assert.equal(taken.startedAt?.getTime(), old.startedAt?.getTime(), 'startedAt is the first start');

      const stale = leaseOf(old);
      assert.deepEqual(await repo.renewLease(stale, LONG_LEASE), { held: false, cancelRequested: false });
      assert.equal(await repo.saveProgress(stale, { step: 9, total: null, loss: null, metrics: {}, tokensPerSecond: null, etaSeconds: null }), false);
      assert.equal(await repo.succeed(stale, { from: 'the dead' }), false);
      assert.equal(await repo.failAttempt(stale, 'late error', null), null);
      assert.equal(await repo.cancelRunning(stale), false);
      assert.equal(await repo.release(stale), false);

      const live = leaseOf(taken);
      assert.deepEqual(await repo.renewLease(live, LONG_LEASE), { held: true, cancelRequested: false });
      assert.equal(await repo.saveProgress(live, { step: 2, total: 4, loss: 0.25, metrics: { acc: 0.5 }, tokensPerSecond: 10, etaSeconds: 3 }), true);
      assert.equal(await repo.succeed(live, { ok: 1 }), true);
      const done = (await repo.get(job.id))!;
      assert.equal(done.state, 'succeeded');
      assert.deepEqual(done.result, { ok: 1 });
      assert.deepEqual(done.progress, { step: 2, total: 4, loss: 0.25, metrics: { acc: 0.5 }, tokensPerSecond: 10, etaSeconds: 3 });
      assert.equal(done.leaseOwner, null);
      assert.ok(done.finishedAt);
      assert.equal(await repo.succeed(live, { twice: true }), false, 'a finished job is final');
    });

    it(`${label} a lapsed lease with no attempts left fails with the last error; with a cancel requested, it is cancelled`, async () => {
      await clear();
      const exhausted = (await repo.insert(newJob('evaluation', { maxAttempts: 1 }))).job;
      const cancelMe = (await repo.insert(newJob('evaluation'))).job;
      assert.equal((await repo.claimNext('w1', ['evaluation'], LONG_LEASE)).claimed?.id, exhausted.id);
      assert.equal((await repo.claimNext('w2', ['evaluation'], LONG_LEASE)).claimed?.id, cancelMe.id);
      assert.equal((await repo.requestCancel(cancelMe.id))?.cancelRequested, true);
      await lapse(exhausted.id);
      await lapse(cancelMe.id);

      const outcome = await repo.claimNext('w3', ['evaluation'], LONG_LEASE);
      assert.equal(outcome.claimed, null, 'neither is run again');
      const byId = new Map(outcome.settled.map((j) => [j.id, j]));
      assert.equal(byId.get(exhausted.id)?.state, 'failed');
      assert.match(byId.get(exhausted.id)?.error ?? '', /lease of w1 lapsed on attempt 1 of 1/);
      assert.equal(byId.get(cancelMe.id)?.state, 'cancelled');
      assert.equal((await repo.claimNext('w3', ['evaluation'], LONG_LEASE)).settled.length, 0, 'settled once');
    });

    it(`${label} failAttempt re-queues (not before the delay) while attempts remain, then fails; release gives the attempt back`, async () => {
      await clear();
      const job = (await repo.insert(newJob('evaluation', { maxAttempts: 2 }))).job;
      const a1 = (await repo.claimNext('w', ['evaluation'], LONG_LEASE)).claimed!;
      assert.equal(await repo.failAttempt(leaseOf(a1), 'first failure', { retryDelayMs: 3_600_000 }), 'queued');
      const queued = (await repo.get(job.id))!;
      assert.equal(queued.state, 'queued');
      assert.equal(queued.error, 'first failure');
      assert.equal(queued.leaseOwner, null);
      assert.ok(queued.runAfter.getTime() > Date.now() + 3_000_000, 'backoff stored as run_after');
      assert.equal((await repo.claimNext('w', ['evaluation'], LONG_LEASE)).claimed, null, 'not before run_after');

      await ds.getRepository(JobEntity).update({ id: job.id }, { runAfter: new Date(Date.now() - 1000) });
      const a2 = (await repo.claimNext('w', ['evaluation'], LONG_LEASE)).claimed!;
      assert.equal(a2.attempts, 2);
      assert.equal(await repo.release(leaseOf(a2)), true);
      const released = (await repo.get(job.id))!;
      assert.equal(released.state, 'queued');
      assert.equal(released.attempts, 1, 'a graceful release does not use up an attempt');
      const a2again = (await repo.claimNext('w', ['evaluation'], LONG_LEASE)).claimed!;
      assert.equal(a2again.attempts, 2);
      assert.equal(await repo.failAttempt(leaseOf(a2again), 'second failure', { retryDelayMs: 0 }), 'failed', 'no attempts left');
      const failed = (await repo.get(job.id))!;
      assert.equal(failed.state, 'failed');
      assert.equal(failed.error, 'second failure');

      const fatal = (await repo.insert(newJob('evaluation', { maxAttempts: 5 }))).job;
      const f1 = (await repo.claimNext('w', ['evaluation'], LONG_LEASE)).claimed!;
      assert.equal(f1.id, fatal.id);
      assert.equal(await repo.failAttempt(leaseOf(f1), 'bad input', null), 'failed', 'retry: null fails at once');
    });

    it(`${label} requestCancel: queued → cancelled at once; running → flagged for its holder; finished → unchanged`, async () => {
      await clear();
      const queued = (await repo.insert(newJob('evaluation'))).job;
      const cancelled = (await repo.requestCancel(queued.id))!;
      assert.equal(cancelled.state, 'cancelled');
      assert.ok(cancelled.finishedAt);
      assert.equal((await repo.claimNext('w', ['evaluation'], LONG_LEASE)).claimed, null, 'a cancelled job is never claimed');

      const running = (await repo.insert(newJob('evaluation'))).job;
      const held = (await repo.claimNext('w', ['evaluation'], LONG_LEASE)).claimed!;
      const flagged = (await repo.requestCancel(running.id))!;
      assert.equal(flagged.state, 'running');
      assert.equal(flagged.cancelRequested, true);
      assert.deepEqual(await repo.renewLease(leaseOf(held), LONG_LEASE), { held: true, cancelRequested: true });
      assert.equal(await repo.failAttempt(leaseOf(held), 'aborted', { retryDelayMs: 0 }), 'failed', 'a cancel-requested job is not retried');

      const done = (await repo.requestCancel(running.id))!;
      assert.equal(done.state, 'failed', 'a finished job stays as it ended');
      assert.equal(await repo.requestCancel('no-such-job'), null);
    });

    it(`${label} concurrent claims from many owners never take one job twice`, async () => {
      await clear();
      const ids = new Set<string>();
      for (let i = 0; i < 8; i++) ids.add((await repo.insert(newJob('reward_model'))).job.id);
      const claims = await Promise.all(Array.from({ length: 32 }, (_, i) => repo.claimNext(`owner-${i}`, ['reward_model'], LONG_LEASE)));
      const claimed = claims.map((c) => c.claimed?.id).filter((id): id is string => id !== undefined);
      assert.equal(claimed.length, 8);
      assert.deepEqual(new Set(claimed), ids);
    });
  });
}
