// The job repository port (IJobRepository): the `jobs` table as the job's single source of truth
// (ARCHITECTURE §3). The TypeORM adapter (typeorm-job-repository.ts) implements it
// on SQLite and PostgreSQL; the contract tests (tests/integration/jobs) run the
// same scenarios on both.
//
// A running job is held under a lease: (owner, attempt) fences every write of its
// outcome, so a worker whose lease lapsed — and whose job another worker took over —
// cannot overwrite what its successor does. Times are the database's clock, not a
// worker's, so leases mean the same on every host.
import type { JobKind, JobRecord, JobState } from '../../domain/jobs.js';
import type { JsonObject } from '../../domain/json.js';
import type { JobProgress } from '../messaging/events.js';

export type { JobRecord } from '../../domain/jobs.js';

export interface NewJob {
  id: string;
  kind: JobKind;
  /** already validated against the kind's schema */
  params: JsonObject;
  idempotencyKey: string | null;
  maxAttempts: number;
}

/** Who holds a running job: every outcome write is conditional on it. */
export interface Lease {
  jobId: string;
  owner: string;
  attempt: number;
}

export interface ClaimOutcome {
  /** the job this owner now runs (state running, attempts = its attempt), or null */
  claimed: JobRecord | null;
  /** jobs the claim found with a lapsed lease that must not run again: failed
   *  (attempts exhausted) or cancelled (cancel requested), for the caller to announce */
  settled: JobRecord[];
}

export interface LeaseStatus {
  /** false: the lease lapsed and another worker took the job, or it ended otherwise */
  held: boolean;
  cancelRequested: boolean;
}

export interface JobListFilter {
  state?: JobState;
  kind?: JobKind;
  limit?: number;
}

export interface IJobRepository {
  /** Insert a queued job. When its idempotency key is taken, nothing is inserted and
   *  the existing job is returned (created: false) — whatever its state. */
  insert(job: NewJob): Promise<{ job: JobRecord; created: boolean }>;
  get(id: string): Promise<JobRecord | null>;
  findByIdempotencyKey(key: string): Promise<JobRecord | null>;
  /** newest first */
  list(filter?: JobListFilter): Promise<JobRecord[]>;
  /** Atomically take the oldest runnable job of these kinds: queued and due, or
   *  running under a lease that lapsed. Safe against any number of concurrent claimers. */
  claimNext(owner: string, kinds: readonly JobKind[], leaseMs: number): Promise<ClaimOutcome>;
  /** heartbeat: extend the lease by leaseMs from now, and read the cancel flag */
  renewLease(lease: Lease, leaseMs: number): Promise<LeaseStatus>;
  /** false when the lease is no longer held (nothing written) */
  saveProgress(lease: Lease, progress: JobProgress): Promise<boolean>;
  succeed(lease: Lease, result: JsonObject): Promise<boolean>;
  /** The attempt failed: back to queued (not before `retryDelayMs`) when `retry` and
   *  attempts remain, failed otherwise. Null when the lease was no longer held. */
  failAttempt(lease: Lease, error: string, retry: { retryDelayMs: number } | null): Promise<JobState | null>;
  /** the holder stopped the job because cancel was requested */
  cancelRunning(lease: Lease): Promise<boolean>;
  /** Give the job back without counting the attempt (graceful shutdown): queued, no lease. */
  release(lease: Lease): Promise<boolean>;
  /** Cancel: a queued job is cancelled at once; a running one gets cancel_requested
   *  (its worker stops it); a finished one is left as it is. Null if there is no such job. */
  requestCancel(id: string): Promise<JobRecord | null>;
}

export const JOB_REPOSITORY = Symbol('JOB_REPOSITORY');

/** The idempotency key is already used by a job of another kind: a caller's bug. */
export class IdempotencyConflictError extends Error {
  readonly code = 'idempotency_conflict';
  readonly retriable = false;
  constructor(readonly key: string, readonly existingKind: JobKind, readonly requestedKind: JobKind) {
    super(`idempotency key "${key}" belongs to a ${existingKind} job; cannot enqueue a ${requestedKind} job with it`);
    this.name = 'IdempotencyConflictError';
  }
}
