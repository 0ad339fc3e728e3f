// The job repository (IJobRepository) on TypeORM, one code path for SQLite (embedded) and PostgreSQL
// (distributed). Every state change is ONE conditional UPDATE whose WHERE clause
// restates what must still be true (e.g. "still queued", "still leased to me on
// this attempt"); the affected-row count says whether it happened. No transaction
// and no row lock is needed, so the same statements are correct on both databases
// and against any number of workers in any number of processes.
//
// In embedded mode the SQLite connection is shared by the whole process: every
// statement, reads included, goes through TypeOrmScope.write (sqlite-serializer.ts),
// so a claim never reads another transaction's uncommitted rows.
import type { DataSource, EntityManager, Repository, UpdateQueryBuilder } from 'typeorm';
import type { JobKind, JobState } from '../../domain/jobs.js';
import type { JsonObject } from '../../domain/json.js';
import type { JobProgress } from '../messaging/events.js';
import { JobEntity } from '../persistence/entities/job.entity.js';
import { TypeOrmScope } from '../persistence/repositories/typeorm-scope.js';
import {
  IdempotencyConflictError,
  type ClaimOutcome,
  type JobListFilter,
  type JobRecord,
  type IJobRepository,
  type Lease,
  type LeaseStatus,
  type NewJob,
} from './job-repository.js';

/** Candidates looked at per claim round; a round lost to other claimers is retried. */
const CLAIM_CANDIDATES = 5;
const CLAIM_ROUNDS = 3;

/**
 * The database's clock in SQL. SQLite stores TypeORM datetimes as UTC text
 * 'YYYY-MM-DD HH:MM:SS.SSS', which strftime('%Y-%m-%d %H:%M:%f') produces too, so
 * they compare correctly as strings; PostgreSQL columns are timestamptz.
 */
interface ClockSql {
  now: string;
  /** now + the interval in milliseconds bound to the named parameter */
  nowPlus(parameter: string): string;
  /** the value to bind for nowPlus's parameter */
  interval(ms: number): string | number;
}

function clockSql(dataSource: DataSource): ClockSql {
  const type = dataSource.options.type;
  if (type === 'postgres') {
    return {
      now: 'now()',
      nowPlus: (p) => `now() + CAST(:${p} AS double precision) * interval '1 millisecond'`,
      interval: (ms) => ms,
    };
  }
  if (type === 'better-sqlite3') {
    return {
      now: "strftime('%Y-%m-%d %H:%M:%f', 'now')",
      nowPlus: (p) => `strftime('%Y-%m-%d %H:%M:%f', 'now', :${p})`,
      interval: (ms) => `+${(ms / 1000).toFixed(3)} seconds`,
    };
  }
  throw new Error(`TypeOrmJobRepository: unsupported database type "${type}" (supported: better-sqlite3, postgres)`);
}

export class TypeOrmJobRepository extends TypeOrmScope implements IJobRepository {
  private readonly clock: ClockSql;

  constructor(manager: EntityManager) {
    super(manager);
    this.clock = clockSql(this.dataSource);
  }

  private get jobs(): Repository<JobEntity> {
    return this.manager.getRepository(JobEntity);
  }

  private db<T>(work: () => Promise<T>): Promise<T> {
    return this.write(work);
  }

  private update(): UpdateQueryBuilder<JobEntity> {
    return this.jobs.createQueryBuilder().update(JobEntity);
  }

  /** Run a conditional UPDATE; true when it changed the row. */
  private async changed(query: UpdateQueryBuilder<JobEntity>): Promise<boolean> {
    const result = await this.db(() => query.execute());
    return (result.affected ?? 0) > 0;
  }

  /** WHERE clause fencing a write to the lease holder's current attempt */
  private held(query: UpdateQueryBuilder<JobEntity>, lease: Lease): UpdateQueryBuilder<JobEntity> {
    return query
      .where('id = :id', { id: lease.jobId })
      .andWhere("state = 'running'")
      .andWhere('lease_owner = :owner', { owner: lease.owner })
      .andWhere('attempts = :attempt', { attempt: lease.attempt });
  }

  async insert(job: NewJob): Promise<{ job: JobRecord; created: boolean }> {
    const now = () => this.clock.now;
    await this.db(() =>
      this.jobs
        .createQueryBuilder()
        .insert()
        .into(JobEntity)
        .values({
          id: job.id,
          kind: job.kind,
          params: job.params,
          idempotencyKey: job.idempotencyKey,
          state: 'queued',
          attempts: 0,
          maxAttempts: job.maxAttempts,
          runAfter: now,
          leaseOwner: null,
          heartbeatAt: null,
          leaseExpiresAt: null,
          progress: null,
          result: null,
          error: null,
          cancelRequested: false,
          createdAt: now,
          updatedAt: now,
          startedAt: null,
          finishedAt: null,
        })
        // ON CONFLICT DO NOTHING (PostgreSQL) / INSERT OR IGNORE (SQLite): a taken
        // idempotency key leaves the existing job untouched
        .orIgnore()
        .execute(),
    );
    const mine = await this.get(job.id);
    if (mine) return { job: mine, created: true };
    const existing = job.idempotencyKey === null ? null : await this.findByIdempotencyKey(job.idempotencyKey);
    if (!existing) throw new Error(`job ${job.id} was neither inserted nor found by its idempotency key`);
    if (existing.kind !== job.kind) throw new IdempotencyConflictError(job.idempotencyKey!, existing.kind, job.kind);
    return { job: existing, created: false };
  }

  get(id: string): Promise<JobRecord | null> {
    return this.db(() => this.jobs.findOneBy({ id }));
  }

  findByIdempotencyKey(key: string): Promise<JobRecord | null> {
    return this.db(() => this.jobs.findOneBy({ idempotencyKey: key }));
  }

  list(filter: JobListFilter = {}): Promise<JobRecord[]> {
    return this.db(() =>
      this.jobs.find({
        where: { ...(filter.state ? { state: filter.state } : {}), ...(filter.kind ? { kind: filter.kind } : {}) },
        order: { createdAt: 'DESC', id: 'DESC' },
        take: filter.limit ?? 100,
      }),
    );
  }

  async claimNext(owner: string, kinds: readonly JobKind[], leaseMs: number): Promise<ClaimOutcome> {
    const settled: JobRecord[] = [];
    if (kinds.length === 0) return { claimed: null, settled };
    const runnable = `((state = 'queued' AND run_after <= ${this.clock.now}) OR (state = 'running' AND lease_expires_at < ${this.clock.now}))`;
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      const candidates = await this.db(() =>
        this.jobs
          .createQueryBuilder('j')
          .select(['j.id', 'j.state', 'j.attempts', 'j.maxAttempts', 'j.cancelRequested', 'j.leaseOwner', 'j.error'])
          .where('j.kind IN (:...kinds)', { kinds: [...kinds] })
          .andWhere(runnable) // unqualified columns: one table
          .orderBy('j.createdAt', 'ASC')
          .addOrderBy('j.id', 'ASC')
          .limit(CLAIM_CANDIDATES)
          .getMany(),
      );
      if (candidates.length === 0) break;
      for (const c of candidates) {
        // every UPDATE below re-checks that the row is still exactly what was read
        const still = (q: UpdateQueryBuilder<JobEntity>) =>
          q.where('id = :id', { id: c.id }).andWhere('attempts = :seen', { seen: c.attempts }).andWhere(runnable);
        const lapsed = c.state === 'running';
        if (lapsed && (c.cancelRequested || c.attempts >= c.maxAttempts)) {
          const cancelled = c.cancelRequested;
          const error = cancelled
            ? null
            : `lease of ${c.leaseOwner ?? 'its worker'} lapsed on attempt ${c.attempts} of ${c.maxAttempts} (the worker stopped heartbeating)` +
              (c.error ? `; last error: ${c.error}` : '');
          const done = await this.changed(
            still(this.update().set({
              state: cancelled ? 'cancelled' : 'failed',
              ...(error === null ? {} : { error }),
              leaseOwner: null,
              leaseExpiresAt: null,
              finishedAt: () => this.clock.now,
              updatedAt: () => this.clock.now,
            })),
          );
          const row = done ? await this.get(c.id) : null;
          if (row) settled.push(row);
          continue;
        }
        const claimed = await this.changed(
          still(this.update().set({
            state: 'running',
            attempts: () => 'attempts + 1',
            leaseOwner: owner,
            heartbeatAt: () => this.clock.now,
            leaseExpiresAt: () => this.clock.nowPlus('leaseInterval'),
            startedAt: () => `COALESCE(started_at, ${this.clock.now})`,
            updatedAt: () => this.clock.now,
          })).setParameter('leaseInterval', this.clock.interval(leaseMs)),
        );
        if (claimed) {
          const row = await this.get(c.id);
          if (row) return { claimed: row, settled };
        }
      }
    }
    return { claimed: null, settled };
  }

  async renewLease(lease: Lease, leaseMs: number): Promise<LeaseStatus> {
    const held = await this.changed(
      this.held(
        this.update().set({
          heartbeatAt: () => this.clock.now,
          leaseExpiresAt: () => this.clock.nowPlus('leaseInterval'),
          updatedAt: () => this.clock.now,
        }),
        lease,
      ).setParameter('leaseInterval', this.clock.interval(leaseMs)),
    );
    if (!held) return { held: false, cancelRequested: false };
    const row = await this.db(() => this.jobs.findOne({ select: { id: true, cancelRequested: true }, where: { id: lease.jobId } }));
    return { held: true, cancelRequested: row?.cancelRequested ?? false };
  }

  saveProgress(lease: Lease, progress: JobProgress): Promise<boolean> {
    return this.changed(this.held(this.update().set({ progress: { ...progress } as JsonObject, updatedAt: () => this.clock.now }), lease));
  }

  succeed(lease: Lease, result: JsonObject): Promise<boolean> {
    return this.finish(lease, { state: 'succeeded', result });
  }

  cancelRunning(lease: Lease): Promise<boolean> {
    return this.finish(lease, { state: 'cancelled' });
  }

  private finish(lease: Lease, values: { state: JobState; result?: JsonObject; error?: string }): Promise<boolean> {
    return this.changed(
      this.held(
        this.update().set({
          ...values,
          leaseOwner: null,
          leaseExpiresAt: null,
          finishedAt: () => this.clock.now,
          updatedAt: () => this.clock.now,
        }),
        lease,
      ),
    );
  }

  async failAttempt(lease: Lease, error: string, retry: { retryDelayMs: number } | null): Promise<JobState | null> {
    if (retry) {
      const requeued = await this.changed(
        this.held(
          this.update().set({
            state: 'queued',
            error,
            leaseOwner: null,
            heartbeatAt: null,
            leaseExpiresAt: null,
            runAfter: () => this.clock.nowPlus('retryDelay'),
            updatedAt: () => this.clock.now,
          }),
          lease,
        )
          .andWhere('attempts < max_attempts')
          .andWhere('cancel_requested = :no', { no: false })
          .setParameter('retryDelay', this.clock.interval(retry.retryDelayMs)),
      );
      if (requeued) return 'queued';
    }
    const failed = await this.finish(lease, { state: 'failed', error });
    return failed ? 'failed' : null;
  }

  release(lease: Lease): Promise<boolean> {
    return this.changed(
      this.held(
        this.update().set({
          state: 'queued',
          attempts: () => 'attempts - 1',
          leaseOwner: null,
          heartbeatAt: null,
          leaseExpiresAt: null,
          updatedAt: () => this.clock.now,
        }),
        lease,
      ),
    );
  }

  async requestCancel(id: string): Promise<JobRecord | null> {
    await this.changed(
      this.update()
        .set({ state: 'cancelled', cancelRequested: true, finishedAt: () => this.clock.now, updatedAt: () => this.clock.now })
        .where('id = :id', { id })
        .andWhere("state = 'queued'"),
    );
    await this.changed(
      this.update()
        .set({ cancelRequested: true, updatedAt: () => this.clock.now })
        .where('id = :id', { id })
        .andWhere("state = 'running'")
        .andWhere('cancel_requested = :no', { no: false }),
    );
    return this.get(id);
  }
}
