// Enqueueing and cancelling jobs: the producer side of the job contract. enqueue()
// writes the row (the job) and then publishes a wake-up; if the wake-up is lost the
// workers' polling finds the row anyway, so a bus outage delays a job, never loses it.
import { randomUUID } from 'node:crypto';
import type { JobKind } from '../../domain/jobs.js';
import { Logger } from '../logging/logger.js';
import type { EventBus } from '../messaging/event-bus.js';
import { validateJobSpec, type JobParamsInput } from '../messaging/events.js';
import { InvalidJobError, JobNotFoundError } from './errors.js';
import { JobEventPublisher } from './job-events.js';
import type { IJobRepository, JobListFilter, JobRecord } from './job-repository.js';

export interface EnqueueOptions {
  /** e.g. `<iteration>:<step>`: enqueueing with a key already used returns that job instead */
  idempotencyKey?: string;
  /** attempts before the job fails for good (default JobQueueOptions.defaultMaxAttempts) */
  maxAttempts?: number;
}

export interface EnqueueResult {
  job: JobRecord;
  /** false when the idempotency key already named a job (returned as it is now) */
  created: boolean;
}

export interface JobQueueOptions {
  /** default 3 */
  defaultMaxAttempts?: number;
  logger?: Logger;
}

const MAX_KEY_LENGTH = 200;

export class JobQueue {
  private readonly events: JobEventPublisher;
  private readonly log: Logger;
  private readonly defaultMaxAttempts: number;

  constructor(
    private readonly repository: IJobRepository,
    bus: EventBus,
    options: JobQueueOptions = {},
  ) {
    this.log = options.logger ?? new Logger('jobs.queue');
    this.events = new JobEventPublisher(bus, this.log);
    this.defaultMaxAttempts = options.defaultMaxAttempts ?? 3;
  }

  /** Validate, insert the row, wake the workers. Throws InvalidJobError naming the offending field. */
  async enqueue<K extends JobKind>(kind: K, params: JobParamsInput<K>, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    const spec = validateJobSpec({ kind, params });
    if (!spec.ok) throw new InvalidJobError(spec.reason);
    const key = options.idempotencyKey ?? null;
    if (key !== null && (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH)) {
      throw new InvalidJobError(`idempotencyKey: must be a string of 1..${MAX_KEY_LENGTH} characters`);
    }
    const maxAttempts = options.maxAttempts ?? this.defaultMaxAttempts;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new InvalidJobError(`maxAttempts: must be a positive integer, got ${maxAttempts}`);

    const { job, created } = await this.repository.insert({ id: randomUUID(), kind, params: spec.value.params, idempotencyKey: key, maxAttempts });
    if (created) {
      this.log.info('job enqueued', { jobId: job.id, kind, idempotencyKey: key });
      await this.events.state(job, 0, 'queued');
    }
    // also for a deduplicated job still waiting: its first wake-up may have been lost
    if (job.state === 'queued') await this.events.wakeUp(job, 'enqueued');
    return { job, created };
  }

  /** Cancel: a queued job at once; a running one when its worker sees the request
   *  (wake-up or next heartbeat). A finished job is returned unchanged. */
  async cancel(id: string): Promise<JobRecord> {
    const before = await this.repository.get(id);
    if (!before) throw new JobNotFoundError(id);
    const job = await this.repository.requestCancel(id);
    if (!job) throw new JobNotFoundError(id);
    if (before.state === 'queued' && job.state === 'cancelled') {
      this.log.info('queued job cancelled', { jobId: id, kind: job.kind });
      await this.events.state(job, job.attempts, 'cancelled');
    } else if (job.state === 'running') {
      this.log.info('cancel requested for a running job', { jobId: id, kind: job.kind, owner: job.leaseOwner });
      await this.events.wakeUp(job, 'cancel');
    }
    return job;
  }

  async get(id: string): Promise<JobRecord> {
    const job = await this.repository.get(id);
    if (!job) throw new JobNotFoundError(id);
    return job;
  }

  list(filter?: JobListFilter): Promise<JobRecord[]> {
    return this.repository.list(filter);
  }
}
