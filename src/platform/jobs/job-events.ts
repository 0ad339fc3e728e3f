// What the job plumbing says on the bus: wake-ups on `outerloop.jobs` and state /
// progress on `outerloop.job-events`, both keyed by job id. Publishing is best
// effort by design: the row is the job, a lost wake-up is made up for by the
// workers' polling and a lost progress event by the row's `progress` column, so a
// bus outage never fails a job — it is logged. (An event that fails its schema is a
// bug and is thrown.)
import { randomUUID } from 'node:crypto';
import type { JobKind, JobState } from '../../domain/jobs.js';
import { Logger } from '../logging/logger.js';
import type { EventBus } from '../messaging/event-bus.js';
import { isRetriable } from '../messaging/delivery.js';
import { EVENT_VERSION, Topic, type EventInput, type JobProgress, type JobWakeUp } from '../messaging/events.js';

interface JobRef {
  id: string;
  kind: JobKind;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

export class JobEventPublisher {
  constructor(
    private readonly bus: EventBus,
    private readonly log: Logger = new Logger('jobs.events'),
  ) {}

  wakeUp(job: JobRef, reason: JobWakeUp['reason']): Promise<void> {
    return this.send(Topic.jobs, job, {
      v: EVENT_VERSION,
      eventId: randomUUID(),
      jobId: job.id,
      kind: job.kind,
      reason,
      createdAt: new Date().toISOString(),
    });
  }

  state(job: JobRef, attempt: number, state: JobState, error: string | null = null): Promise<void> {
    return this.send(Topic.jobEvents, job, { ...this.header(job, attempt), type: 'state', state, error: error === null ? null : error.slice(0, 10_000) });
  }

  progress(job: JobRef, attempt: number, progress: JobProgress): Promise<void> {
    return this.send(Topic.jobEvents, job, { ...this.header(job, attempt), type: 'progress', ...progress });
  }

  private header(job: JobRef, attempt: number) {
    return { v: EVENT_VERSION, eventId: randomUUID(), jobId: job.id, kind: job.kind, attempt, createdAt: new Date().toISOString() };
  }

  private async send<T extends typeof Topic.jobs | typeof Topic.jobEvents>(topic: T, job: JobRef, value: EventInput<T>): Promise<void> {
    try {
      await this.bus.publish(topic, [{ key: job.id, value }]);
    } catch (err) {
      // an event that fails its schema is a bug here, not an outage: let it surface
      if (!isRetriable(err)) throw err;
      this.log.warn('job event not published (the jobs row still holds the truth)', { topic, jobId: job.id, kind: job.kind, error: describe(err) });
    }
  }
}

/**
 * One attempt's progress events, published in order without making the handler
 * wait for the bus: progress() returns once the row is written, so a slow or absent
 * broker never slows training. During an outage at most `capacity` reports wait;
 * older ones are dropped (the row keeps the latest either way).
 */
export class ProgressStream {
  private readonly queue: JobProgress[] = [];
  private draining: Promise<void> | null = null;
  private dropped = 0;

  constructor(
    private readonly publish: (progress: JobProgress) => Promise<void>,
    private readonly log: Logger,
    private readonly jobId: string,
    private readonly capacity = 1000,
  ) {}

  push(progress: JobProgress): void {
    this.queue.push(progress);
    if (this.queue.length > this.capacity) {
      this.queue.shift();
      if (this.dropped++ === 0) this.log.warn('progress events backing up; dropping the oldest', { jobId: this.jobId, capacity: this.capacity });
    }
    this.draining ??= this.drain();
  }

  /** resolves once every pushed report was published (or given up on) */
  flush(): Promise<void> {
    return this.draining ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) await this.publish(next);
    } catch (err) {
      // a non-retriable publish error is a bug in the event; the row still has the progress
      this.log.error('progress event not publishable; the rest of this stream is dropped', err, { jobId: this.jobId });
      this.queue.length = 0;
    } finally {
      this.draining = null;
    }
  }
}
