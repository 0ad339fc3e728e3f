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

  wakeUp(job: JobRef, reason: JobWakeUp['reason']): Promise<boolean> {
    return this.send(Topic.jobs, job, {
      v: EVENT_VERSION,
      eventId: randomUUID(),
      jobId: job.id,
      kind: job.kind,
      reason,
      createdAt: new Date().toISOString(),
    });
  }

  state(job: JobRef, attempt: number, state: JobState, error: string | null = null): Promise<boolean> {
    return this.send(Topic.jobEvents, job, { ...this.header(job, attempt), type: 'state', state, error: error === null ? null : error.slice(0, 10_000) });
  }

  progress(job: JobRef, attempt: number, progress: JobProgress): Promise<boolean> {
    return this.send(Topic.jobEvents, job, { ...this.header(job, attempt), type: 'progress', ...progress });
  }

  private header(job: JobRef, attempt: number) {
    return { v: EVENT_VERSION, eventId: randomUUID(), jobId: job.id, kind: job.kind, attempt, createdAt: new Date().toISOString() };
  }

  /** true once published; false when the bus is unavailable (logged) */
  private async send<T extends typeof Topic.jobs | typeof Topic.jobEvents>(topic: T, job: JobRef, value: EventInput<T>): Promise<boolean> {
    try {
      await this.bus.publish(topic, [{ key: job.id, value }]);
      return true;
    } catch (err) {
      // an event that fails its schema is a bug here, not an outage: let it surface
      if (!isRetriable(err)) throw err;
      this.log.warn('job event not published (the jobs row still holds the truth)', { topic, jobId: job.id, kind: job.kind, error: describe(err) });
      return false;
    }
  }
}

/**
 * One attempt's progress events, published in order without making the handler
 * wait for the bus: progress() returns once the row is written, so a slow or absent
 * broker never slows training. When a publish fails (the bus is down), the reports
 * queued behind it are dropped rather than retried one by one — the row keeps the
 * latest either way — and at most `capacity` wait while a publish is in flight.
 */
export class ProgressStream {
  private readonly queue: JobProgress[] = [];
  private draining: Promise<void> | null = null;
  private dropped = 0;

  constructor(
    private readonly publish: (progress: JobProgress) => Promise<boolean>,
    private readonly log: Logger,
    private readonly jobId: string,
    private readonly capacity = 1000,
  ) {}

  push(progress: JobProgress): void {
    this.queue.push(progress);
    if (this.queue.length > this.capacity) this.drop(this.queue.splice(0, this.queue.length - this.capacity).length);
    this.draining ??= this.drain();
  }

  /** resolves once every pushed report was published or dropped */
  flush(): Promise<void> {
    return this.draining ?? Promise.resolve();
  }

  private drop(count: number): void {
    if (count > 0 && this.dropped === 0) this.log.warn('progress events dropped (the bus is slow or down; the row has the latest)', { jobId: this.jobId });
    this.dropped += count;
  }

  private async drain(): Promise<void> {
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        if (!(await this.publish(next))) this.drop(this.queue.splice(0).length);
      }
    } catch (err) {
      // a non-retriable publish error is a bug in the event; the row still has the progress
      this.log.error('progress event not publishable; the rest of this stream is dropped', err, { jobId: this.jobId });
      this.queue.length = 0;
    } finally {
      this.draining = null;
    }
  }
}
