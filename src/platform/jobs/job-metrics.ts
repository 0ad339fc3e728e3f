// Prometheus metrics of the job workers, fed by the worker's observer hooks:
// what runs now, how long jobs wait in the queue, how attempts end and how long they
// take, and the last progress a running job reported, per kind. Labels are bounded:
// the kind (and an attempt's outcome), never a job id — a run's own history is in the
// jobs row and the checkpoints table (the Training dashboard's SQL panels).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { JobKind, JobRecord, JobState } from '../../domain/jobs.js';
import type { JobProgress } from '../messaging/events.js';
import { metric } from '../metrics/metrics.js';
import type { JobWorkerObserver } from './job-worker.js';

/** how an attempt ended: its new state, or lease_lost when it could write nothing */
const OUTCOMES = ['succeeded', 'failed', 'cancelled', 'requeued', 'lease_lost'] as const;
type AttemptOutcome = (typeof OUTCOMES)[number];

/**
 * The progress figures exported as gauges: a fixed list, so a handler's free-form
 * `metrics` keys never become series. The PPO step record names them as in
 * docs/ppo.md (`reward`, `kl`, `beta`, `entropy`, `clip_fraction`) and the reward-model
 * job's as in docs/reward-model.md (`accuracy`, `heldout_loss`).
 */
const PROGRESS_GAUGES = [
  { name: 'outerloop_training_loss', help: 'training loss in the last progress report of a job of this kind', read: (p: JobProgress) => p.loss },
  { name: 'outerloop_training_tokens_per_second', help: 'training throughput in the last progress report', read: (p: JobProgress) => p.tokensPerSecond },
  { name: 'outerloop_training_reward', help: 'mean reward of the last PPO step reported', read: (p: JobProgress) => p.metrics.reward },
  { name: 'outerloop_training_kl', help: 'KL to the reference policy (k1, nats per response) of the last PPO step reported', read: (p: JobProgress) => p.metrics.kl },
  { name: 'outerloop_training_kl_coefficient', help: 'KL penalty coefficient beta of the last PPO step reported', read: (p: JobProgress) => p.metrics.beta },
  { name: 'outerloop_training_entropy', help: 'policy entropy (nats per token) of the last PPO step reported', read: (p: JobProgress) => p.metrics.entropy },
  { name: 'outerloop_training_clip_fraction', help: 'share of PPO ratios clipped in the last step reported', read: (p: JobProgress) => p.metrics.clip_fraction },
  // the reward-model job's step record (docs/reward-model.md): batch accuracy, held-out loss
  { name: 'outerloop_training_accuracy', help: 'batch pairwise accuracy in the last progress report (reward model training)', read: (p: JobProgress) => p.metrics.accuracy },
  { name: 'outerloop_training_heldout_loss', help: 'held-out loss in the last progress report (reward model training)', read: (p: JobProgress) => p.metrics.heldout_loss },
] as const;

export class JobMetrics implements JobWorkerObserver {
  private readonly running: Gauge<'kind'>;
  private readonly attempts: Counter<'kind' | 'outcome'>;
  private readonly seconds: Histogram<'kind' | 'outcome'>;
  private readonly queueWait: Histogram<'kind'>;
  private readonly progressRatio: Gauge<'kind'>;
  private readonly progressGauges: Array<{ gauge: Gauge<'kind'>; read: (p: JobProgress) => number | null | undefined }>;
  private readonly startedAt = new Map<string, number>();

  /**
   * `kinds`: the kinds this worker runs. Their counters and histograms start at 0, so
   * the first failure is an increase Prometheus can see (a series born at 1 is not).
   */
  constructor(registry: Registry, kinds: readonly JobKind[] = []) {
    const gauge = (name: string, help: string) => metric(registry, name, () => new Gauge({ name, help, labelNames: ['kind'] as const, registers: [registry] }));
    this.running = gauge('outerloop_jobs_running', 'job attempts running in this process');
    this.attempts = metric(registry, 'outerloop_job_attempts_total', () =>
      new Counter({ name: 'outerloop_job_attempts_total', help: 'job attempts ended, by outcome', labelNames: ['kind', 'outcome'] as const, registers: [registry] }),
    );
    // evaluation jobs take seconds, training jobs up to hours
    const buckets = [1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14_400];
    this.seconds = metric(registry, 'outerloop_job_attempt_seconds', () =>
      new Histogram({ name: 'outerloop_job_attempt_seconds', help: 'duration of job attempts, by outcome', labelNames: ['kind', 'outcome'] as const, buckets, registers: [registry] }),
    );
    this.queueWait = metric(registry, 'outerloop_job_queue_wait_seconds', () =>
      new Histogram({ name: 'outerloop_job_queue_wait_seconds', help: 'from enqueue to the first attempt starting', labelNames: ['kind'] as const, buckets, registers: [registry] }),
    );
    this.progressRatio = gauge('outerloop_job_progress_ratio', 'step / total in the last progress report of a job of this kind (absent when the handler gives no total)');
    this.progressGauges = PROGRESS_GAUGES.map((g) => ({ gauge: gauge(g.name, g.help), read: g.read }));
    for (const kind of kinds) {
      this.running.set({ kind }, 0);
      this.queueWait.zero({ kind });
      for (const outcome of OUTCOMES) {
        this.attempts.inc({ kind, outcome }, 0);
        this.seconds.zero({ kind, outcome });
      }
    }
  }

  attemptStarted(job: JobRecord): void {
    const now = Date.now();
    this.startedAt.set(job.id, now);
    this.running.inc({ kind: job.kind });
    // the first attempt only: a retry's wait is its backoff, not the queue
    if (job.attempts === 1) this.queueWait.observe({ kind: job.kind }, Math.max(0, (now - job.createdAt.getTime()) / 1000));
  }

  /** Gauges keep the last report of the kind, so a finished run's final figures stay visible. */
  progress(job: JobRecord, progress: JobProgress): void {
    const kind = job.kind;
    if (progress.total !== null) this.progressRatio.set({ kind }, progress.step / progress.total);
    for (const { gauge, read } of this.progressGauges) {
      const value = read(progress);
      if (typeof value === 'number' && Number.isFinite(value)) gauge.set({ kind }, value);
    }
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
