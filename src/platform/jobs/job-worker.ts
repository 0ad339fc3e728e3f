// The consumer side of the job contract. A worker:
//  - listens for wake-ups on `outerloop.jobs` and acknowledges them at once (the
//    handler only pokes the claim loop: an hour-long job never sits on an
//    uncommitted batch), AND polls the table every pollIntervalMs, so a lost wake-up
//    or a dead worker's lapsed lease is still picked up;
//  - claims a job atomically (IJobRepository.claimNext), runs its kind's handler and
//    renews the lease with a heartbeat while it runs;
//  - writes the outcome back under the lease: succeeded with the result, back to
//    queued for a retry (with backoff) while attempts remain, failed with the last
//    error, or cancelled. A wake-up for a finished job finds nothing to claim.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { JobKind, JobState } from '../../domain/jobs.js';
import { Logger } from '../logging/logger.js';
import { backoffDelay, type BackoffPolicy } from '../messaging/delivery.js';
import type { EventBus, Subscription } from '../messaging/event-bus.js';
import { Topic, validateJobProgress, validateJobSpec, type JobProgress, type JobProgressInput, type JobWakeUp } from '../messaging/events.js';
import { JobCancelledError, JobError, LeaseLostError, WorkerStoppingError } from './errors.js';
import { JobEventPublisher, ProgressStream } from './job-events.js';
import type { JobContext, JobHandlers } from './job-handlers.js';
import type { IJobRepository, JobRecord, Lease } from './job-repository.js';

export interface JobWorkerOptions {
  /** this worker's identity in lease_owner (default host:pid:random) */
  owner?: string;
  /** how long a claim holds without a heartbeat (default 30 s); a SIGKILLed worker's job is taken over after it */
  leaseMs?: number;
  /** lease renewal period (default leaseMs / 3) */
  heartbeatMs?: number;
  /** how often the table is polled for work besides wake-ups (default 5 s) */
  pollIntervalMs?: number;
  /** jobs run at once by this worker (default 1: a training job uses every core) */
  concurrency?: number;
  /** delay before a failed attempt is retried (default 1 s doubling to 60 s) */
  retryBackoff?: BackoffPolicy;
  /** consumer group for wake-ups (default: one per set of kinds, so a wake-up reaches a worker that runs its kind) */
  groupId?: string;
  /** on stop(), how long to wait for handlers to honour the abort before giving up (default 30 s) */
  stopGraceMs?: number;
  logger?: Logger;
  /** observation hooks (metrics, tests) */
  observer?: JobWorkerObserver;
}

export interface JobWorkerObserver {
  /** a wake-up was received and acted on */
  wakeUp?(message: JobWakeUp): void;
  /** this worker claimed the job and runs its handler now (job.attempts is the attempt) */
  attemptStarted?(job: JobRecord): void;
  /** the running attempt reported progress (recorded on the row) */
  progress?(job: JobRecord, progress: JobProgress): void;
  /** this worker ended an attempt with this state (null: the lease was lost, nothing written) */
  attemptEnded?(job: JobRecord, attempt: number, state: JobState | null): void;
}

/** ~30 s of backoff in all */
const OUTCOME_WRITE_ATTEMPTS = 10;
const DEFAULT_RETRY_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 60_000 };

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** One running attempt. */
interface Running {
  job: JobRecord;
  keeper: LeaseKeeper;
  /** resolves when the attempt's outcome is written (or abandoned with the lease) */
  done: Promise<void>;
}

/**
 * Keeps one attempt's lease alive — until its outcome is written, not just until
 * the handler returns — and holds why the handler must stop: cancel requested,
 * lease lost, or the worker stopping (the first reason wins the signal; a lost
 * lease is remembered even after another reason, because it forbids every write).
 */
class LeaseKeeper {
  readonly abort = new AbortController();
  lost: LeaseLostError | null = null;
  private chain: Promise<void> = Promise.resolve();
  private lastRenewal = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly repository: IJobRepository,
    readonly lease: Lease,
    private readonly leaseMs: number,
    heartbeatMs: number,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => this.renewNow(), heartbeatMs);
  }

  /** heartbeat now (e.g. on a cancel wake-up); renewals never overlap */
  renewNow(): void {
    this.chain = this.chain.then(() => this.renew());
  }

  private async renew(): Promise<void> {
    if (this.lost) return;
    try {
      const status = await this.repository.renewLease(this.lease, this.leaseMs);
      if (!status.held) return this.markLost('another worker holds it, or the job ended');
      this.lastRenewal = Date.now();
      if (status.cancelRequested) this.stop(new JobCancelledError(this.lease.jobId));
    } catch (err) {
      this.log.warn('lease renewal failed', { jobId: this.lease.jobId, error: describe(err) });
      // past the lease, another worker may have taken the job over: stop, write nothing
      if (Date.now() - this.lastRenewal >= this.leaseMs) this.markLost(`not renewed for ${this.leaseMs} ms (${describe(err)})`);
    }
  }

  markLost(detail: string): void {
    this.lost ??= new LeaseLostError(this.lease.jobId, detail);
    this.stop(this.lost);
  }

  /** abort the handler's signal; the first reason stays */
  stop(reason: Error): void {
    if (!this.abort.signal.aborted) this.abort.abort(reason);
  }

  get stopReason(): unknown {
    return this.abort.signal.aborted ? this.abort.signal.reason : null;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.chain;
  }
}

export class JobWorker {
  readonly owner: string;
  private readonly log: Logger;
  private readonly events: JobEventPublisher;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly pollIntervalMs: number;
  private readonly concurrency: number;
  private readonly retryBackoff: BackoffPolicy;
  private readonly running = new Map<string, Running>();
  private subscription: Subscription | null = null;
  private loopDone: Promise<void> | null = null;
  private stopping = false;
  private pokePending = false;
  private pokeResolve: (() => void) | null = null;

  constructor(
    private readonly repository: IJobRepository,
    private readonly bus: EventBus,
    private readonly handlers: JobHandlers,
    private readonly options: JobWorkerOptions = {},
  ) {
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.log = options.logger ?? new Logger('jobs.worker');
    this.events = new JobEventPublisher(bus, this.log);
    this.leaseMs = options.leaseMs ?? 30_000;
    this.heartbeatMs = options.heartbeatMs ?? Math.max(1, Math.floor(this.leaseMs / 3));
    this.pollIntervalMs = options.pollIntervalMs ?? 5000;
    this.concurrency = options.concurrency ?? 1;
    this.retryBackoff = options.retryBackoff ?? DEFAULT_RETRY_BACKOFF;
    if (!(this.heartbeatMs < this.leaseMs)) throw new RangeError(`heartbeatMs (${this.heartbeatMs}) must be shorter than leaseMs (${this.leaseMs})`);
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${this.concurrency}`);
  }

  get kinds(): JobKind[] {
    return this.handlers.kinds();
  }

  /** Subscribe to wake-ups and start claiming. The bus must be started. */
  async start(): Promise<void> {
    if (this.loopDone || this.subscription) throw new Error('JobWorker.start() called twice');
    if (this.stopping) return; // stopped before it started (shutdown during start-up)
    const kinds = this.kinds;
    if (kinds.length === 0) throw new Error('JobWorker: no handler registered; nothing to run');
    this.subscription = await this.bus.subscribe({
      topic: Topic.jobs,
      groupId: this.options.groupId ?? `job-workers.${kinds.join('.')}`,
      // a wake-up published before this group existed is covered by the first poll
      fromBeginning: false,
      handleBatch: async (messages) => {
        for (const m of messages) {
          if (m.value.reason === 'cancel') this.running.get(m.value.jobId)?.keeper.renewNow();
          this.options.observer?.wakeUp?.(m.value);
        }
        this.poke();
      },
    });
    if (this.stopping) {
      // stop() was called while subscribing (shutdown during start-up)
      await this.subscription.stop();
      return;
    }
    this.loopDone = this.claimLoop();
    this.log.info('job worker started', { owner: this.owner, kinds, leaseMs: this.leaseMs, pollIntervalMs: this.pollIntervalMs, concurrency: this.concurrency });
  }

  /** Stop claiming; abort running handlers and give their jobs back to the queue. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.poke();
    await this.subscription?.stop();
    await this.loopDone;
    const attempts = [...this.running.values()];
    for (const r of attempts) r.keeper.stop(new WorkerStoppingError(r.job.id));
    const grace = this.options.stopGraceMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.all(attempts.map((r) => r.done)).then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), grace))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.log.error('handlers ignored the stop signal; their leases will lapse and another worker takes the jobs over', undefined, {
        jobs: [...this.running.keys()],
        graceMs: grace,
      });
    }
    this.log.info('job worker stopped', { owner: this.owner });
  }

  /** Ask the claim loop to look for work now. */
  private poke(): void {
    this.pokePending = true;
    this.pokeResolve?.();
  }

  private waitForPoke(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.pokePending || this.stopping) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.pokeResolve = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.pokeResolve = done;
    });
  }

  private async claimLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      this.pokePending = false;
      let delay = this.pollIntervalMs;
      try {
        while (!this.stopping && this.running.size < this.concurrency) {
          const { claimed, settled } = await this.repository.claimNext(this.owner, this.kinds, this.leaseMs);
          for (const job of settled) {
            this.log.warn(`job ${job.state} after its worker's lease lapsed`, { jobId: job.id, kind: job.kind, attempts: job.attempts, error: job.error });
            await this.events.state(job, job.attempts, job.state, job.error);
          }
          if (!claimed) break;
          this.runAttempt(claimed);
        }
        failures = 0;
      } catch (err) {
        // the database is down or busy: keep the loop alive and try again with backoff
        delay = backoffDelay({ initialMs: Math.min(200, this.pollIntervalMs), maxMs: Math.max(this.pollIntervalMs, 1000) }, ++failures);
        this.log.warn('claiming jobs failed; retrying', { owner: this.owner, retryInMs: delay, error: describe(err) });
      }
      await this.waitForPoke(delay);
    }
  }

  private runAttempt(job: JobRecord): void {
    const lease: Lease = { jobId: job.id, owner: this.owner, attempt: job.attempts };
    const keeper = new LeaseKeeper(this.repository, lease, this.leaseMs, this.heartbeatMs, this.log);
    const running: Running = { job, keeper, done: Promise.resolve() };
    running.done = this.execute(job, keeper)
      .catch((err: unknown) => this.log.error('job attempt ended without its outcome written; the lease will lapse and the job be retried', err, { jobId: job.id }))
      .finally(async () => {
        await keeper.close();
        this.running.delete(job.id);
        this.poke(); // a slot is free
      });
    this.running.set(job.id, running);
  }

  /** Run one attempt and write its outcome under the lease. */
  private async execute(job: JobRecord, keeper: LeaseKeeper): Promise<void> {
    const { lease } = keeper;
    const attempt = lease.attempt;
    const log = this.log.child(job.kind);
    const end = (state: JobState | null) => this.options.observer?.attemptEnded?.(job, attempt, state);
    const write = <T>(what: string, op: () => Promise<T>) => this.persist(keeper, what, op);

    const spec = validateJobSpec({ kind: job.kind, params: job.params });
    const handler = this.handlers.get(job.kind);
    if (!spec.ok || !handler) {
      const error = spec.ok ? `no handler for ${job.kind} jobs on worker ${this.owner}` : `invalid job: ${spec.reason}`;
      const state = await write('failure', () => this.repository.failAttempt(lease, error, null));
      if (state) await this.events.state(job, attempt, state, error);
      return end(state);
    }

    log.info('job started', { jobId: job.id, attempt, maxAttempts: job.maxAttempts });
    this.options.observer?.attemptStarted?.(job);
    await this.events.state(job, attempt, 'running');
    const startedAt = Date.now();
    const eta = new EtaEstimator();
    const progressEvents = new ProgressStream((p) => this.events.progress(job, attempt, p), log, job.id);
    const signal = keeper.abort.signal;
    const context: JobContext = {
      job: { id: job.id, kind: job.kind, params: spec.value.params, idempotencyKey: job.idempotencyKey, maxAttempts: job.maxAttempts },
      attempt,
      signal,
      checkpoint: { prefix: `jobs/${job.id}/` },
      log,
      progress: async (report) => {
        signal.throwIfAborted();
        const progress = eta.apply(parseProgress(report), Date.now());
        if (!(await this.repository.saveProgress(lease, progress))) {
          keeper.markLost('progress could not be recorded under the lease');
          signal.throwIfAborted();
        }
        progressEvents.push(progress);
        this.options.observer?.progress?.(job, progress);
      },
    };

    let outcome: { ok: true; result: object } | { ok: false; error: unknown };
    try {
      const result = (await handler(context)) ?? {};
      assertJsonObject(result);
      outcome = { ok: true, result };
    } catch (error) {
      outcome = { ok: false, error };
    }

    await progressEvents.flush(); // the stream's progress comes before the attempt's end
    let state: JobState | null;
    const reason = keeper.stopReason;
    if (keeper.lost) {
      log.warn('lease lost; this attempt writes nothing (another worker runs the job)', { jobId: job.id, attempt, error: keeper.lost.message });
      return end(null);
    } else if (outcome.ok) {
      state = (await write('result', () => this.repository.succeed(lease, outcome.result))) ? 'succeeded' : null;
      if (state) log.info('job succeeded', { jobId: job.id, attempt, seconds: (Date.now() - startedAt) / 1000 });
      if (state) await this.events.state(job, attempt, state);
    } else if (reason instanceof JobCancelledError) {
      state = (await write('cancellation', () => this.repository.cancelRunning(lease))) ? 'cancelled' : null;
      if (state) log.info('job cancelled', { jobId: job.id, attempt });
      if (state) await this.events.state(job, attempt, state);
    } else if (reason instanceof WorkerStoppingError) {
      state = (await write('release', () => this.repository.release(lease))) ? 'queued' : null;
      if (state) log.info('job released to the queue (worker stopping)', { jobId: job.id, attempt });
      if (state) await this.events.wakeUp(job, 'retry');
    } else {
      const error = describe(outcome.error);
      const retriable = (outcome.error as { retriable?: unknown } | null)?.retriable !== false;
      const retryDelayMs = backoffDelay(this.retryBackoff, attempt);
      state = await write('failure', () => this.repository.failAttempt(lease, error, retriable ? { retryDelayMs } : null));
      if (state === 'queued') log.warn('job attempt failed; it will be retried', { jobId: job.id, attempt, maxAttempts: job.maxAttempts, retryInMs: retryDelayMs, error });
      if (state === 'failed') log.error('job failed', outcome.error, { jobId: job.id, attempt, maxAttempts: job.maxAttempts, retriable });
      if (state) await this.events.state(job, attempt, state, error);
      if (state === 'queued') setTimeout(() => this.poke(), retryDelayMs).unref();
    }
    if (state === null) log.warn('the lease ended before the outcome was written; it was discarded', { jobId: job.id, attempt });
    return end(state);
  }

  /**
   * Write an attempt's outcome, retrying while the database is unreachable — an
   * hour of training must not be redone for a blip — for as long as the lease holds
   * (the keeper goes on heartbeating meanwhile), a bounded number of times. Null
   * once the lease is lost.
   */
  private async persist<T>(keeper: LeaseKeeper, what: string, op: () => Promise<T>): Promise<T | null> {
    for (let attempt = 1; ; attempt++) {
      if (keeper.lost) return null;
      try {
        return await op();
      } catch (err) {
        if (attempt >= OUTCOME_WRITE_ATTEMPTS) throw err; // → runAttempt logs it; the lease lapses
        const delay = backoffDelay({ initialMs: 100, maxMs: 5000 }, attempt);
        this.log.warn(`writing the job's ${what} failed; retrying while the lease holds`, { jobId: keeper.lease.jobId, retryInMs: delay, error: describe(err) });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}

/** A result must round-trip through the row's JSON column; a handler returning
 *  anything else has a bug, which retrying would not fix. */
function assertJsonObject(result: unknown): asserts result is object {
  let ok = typeof result === 'object' && result !== null && !Array.isArray(result);
  try {
    ok &&= JSON.stringify(result) !== undefined;
  } catch (err) {
    throw new JobError(`the handler's result is not JSON-serialisable: ${describe(err)}`, 'invalid_result', false);
  }
  if (!ok) throw new JobError('the handler must resolve with a JSON object (or nothing)', 'invalid_result', false);
}

function parseProgress(report: JobProgressInput): JobProgress {
  const r = validateJobProgress(report);
  if (!r.ok) throw new JobError(`invalid progress report: ${r.reason}`, 'invalid_progress', false);
  return r.value;
}

/** Estimates the time left from the rate of this attempt's steps so far (an attempt
 *  resumed from a checkpoint starts mid-way), when the handler gave no ETA. */
class EtaEstimator {
  private first: { step: number; at: number } | null = null;

  apply(p: JobProgress, now: number): JobProgress {
    this.first ??= { step: p.step, at: now };
    const stepsDone = p.step - this.first.step;
    if (p.etaSeconds !== null || p.total === null || stepsDone <= 0) return p;
    const secondsPerStep = (now - this.first.at) / 1000 / stepsDone;
    return { ...p, etaSeconds: Math.round(secondsPerStep * Math.max(0, p.total - p.step)) };
  }
}
