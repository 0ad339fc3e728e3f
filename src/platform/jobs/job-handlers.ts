// What a job handler is and how roles register theirs: the trainer registers
// `reward_model` (later ppo, dpo, best_of_n, rejection_sampling), the evaluator
// `evaluation`. The worker claims only the kinds that have a handler here.
import type { JobKind } from '../../domain/jobs.js';
import type { Logger } from '../logging/logger.js';
import type { JobParams, JobProgressInput } from '../messaging/events.js';
import type { JsonObject } from '../persistence/entities/columns.js';

export interface JobContext<K extends JobKind = JobKind> {
  readonly job: {
    readonly id: string;
    readonly kind: K;
    /** validated against the kind's schema, defaults applied */
    readonly params: JobParams<K>;
    readonly idempotencyKey: string | null;
    readonly maxAttempts: number;
  };
  /** 1 on the first run; above 1 when a previous attempt failed or its worker died */
  readonly attempt: number;
  /**
   * Aborted when the job is cancelled (reason JobCancelledError), when this worker
   * lost the lease (LeaseLostError: another worker runs the job now — stop without
   * writing anything), or when the worker shuts down (WorkerStoppingError: the job
   * goes back to the queue). Check it between steps; `signal.throwIfAborted()`.
   */
  readonly signal: AbortSignal;
  /**
   * Where this job keeps checkpoints: a relative path in the ArtifactStore, the same
   * for every attempt, so attempt 2 resumes from what attempt 1 saved.
   */
  readonly checkpoint: { readonly prefix: string };
  /** Record progress on the row (awaited) and stream it on `outerloop.job-events`
   *  (in order, without waiting for the bus). Rejects with the signal's reason once
   *  the job must stop. One database write per call: per training step is fine, per
   *  token is not. */
  progress(report: JobProgressInput): Promise<void>;
  readonly log: Logger;
}

/** Resolves with the job's result (stored as JSON on the row), or throws. A thrown
 *  error with `retriable: false` fails the job at once; any other error is retried
 *  while attempts remain. */
export type JobHandler<K extends JobKind = JobKind> = (ctx: JobContext<K>) => Promise<JsonObject | void>;

export class JobHandlers {
  private readonly handlers = new Map<JobKind, JobHandler<JobKind>>();

  register<K extends JobKind>(kind: K, handler: JobHandler<K>): void {
    if (this.handlers.has(kind)) throw new Error(`a handler for ${kind} jobs is already registered`);
    this.handlers.set(kind, handler as unknown as JobHandler<JobKind>);
  }

  get(kind: JobKind): JobHandler<JobKind> | undefined {
    return this.handlers.get(kind);
  }

  kinds(): JobKind[] {
    return [...this.handlers.keys()].sort();
  }
}
