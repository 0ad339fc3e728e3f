// Prometheus metrics of the job workers, fed by the worker's observer hooks:
// what runs now, how attempts end and how long they take, per kind.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { JobKind, JobRecord, JobState } from '../../domain/jobs.js';
import { metric } from '../metrics/metrics.js';
import type { JobWorkerObserver } from './job-worker.js';

/** how an attempt ended: its new state, or lease_lost when it could write nothing */
type AttemptOutcome = 'succeeded' | 'failed' | 'cancelled' | 'requeued' | 'lease_lost';

export class JobMetrics implements JobWorkerObserver {
  private readonly running: Gauge<'kind'>;
  private readonly attempts: Counter<'kind' | 'outcome'>;
  private readonly seconds: Histogram<'kind' | 'outcome'>;
  private readonly startedAt = new Map<string, number>();

  constructor(registry: Registry) {
    this.running = metric(registry, 'outerloop_jobs_running', () =>
      new Gauge({ name: 'outerloop_jobs_running', help: 'job attempts running in this process', labelNames: ['kind'] as const, registers: [registry] }),
    );
    this.attempts = metric(registry, 'outerloop_job_attempts_total', () =>
      new Counter({ name: 'outerloop_job_attempts_total', help: 'job attempts ended, by outcome', labelNames: ['kind', 'outcome'] as const, registers: [registry] }),
    );
    this.seconds = metric(registry, 'outerloop_job_attempt_seconds', () =>
      new Histogram({
        name: 'outerloop_job_attempt_seconds',
        help: 'duration of job attempts, by outcome',
        labelNames: ['kind', 'outcome'] as const,
        // evaluation jobs take seconds, training jobs up to hours
        buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14_400],
        registers: [registry],
      }),
    );
  }

  attemptStarted(job: JobRecord): void {
    this.startedAt.set(job.id, Date.now());
    this.running.inc({ kind: job.kind });
  }

  attemptEnded(job: JobRecord, _attempt: number, state: JobState | null): void {
    const kind: JobKind = job.kind;
    const outcome: AttemptOutcome = state === null ? 'lease_lost' : state === 'queued' ? 'requeued' : (state as AttemptOutcome);
    const started = this.startedAt.get(job.id);
    this.startedAt.delete(job.id);
    if (started !== undefined) {
      this.running.dec({ kind });
      this.seconds.observe({ kind, outcome }, (Date.now() - started) / 1000);
    }
    this.attempts.inc({ kind, outcome });
  }
}
