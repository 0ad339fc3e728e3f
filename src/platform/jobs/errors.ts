// Errors of the job plumbing, each with a stable `code` and whether retrying can
// help (CONVENTIONS "explicit outcomes"); the admin API maps them to HTTP statuses.

export class JobError extends Error {
  constructor(message: string, readonly code: string, readonly retriable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JobError';
  }
}

/** enqueue() with a kind or parameters that do not match the job contract; names each field */
export class InvalidJobError extends JobError {
  constructor(reason: string) {
    super(`invalid job: ${reason}`, 'invalid_job', false);
    this.name = 'InvalidJobError';
  }
}

export class JobNotFoundError extends JobError {
  constructor(readonly jobId: string) {
    super(`job ${jobId} does not exist`, 'job_not_found', false);
    this.name = 'JobNotFoundError';
  }
}

/** The signal's reason when a cancel was requested: a handler may throw it as is. */
export class JobCancelledError extends JobError {
  constructor(readonly jobId: string) {
    super(`job ${jobId} was cancelled`, 'job_cancelled', false);
    this.name = 'JobCancelledError';
  }
}

/** The signal's reason when this worker no longer holds the lease (another worker took the job over). */
export class LeaseLostError extends JobError {
  constructor(readonly jobId: string, detail: string) {
    super(`lease on job ${jobId} lost: ${detail}`, 'lease_lost', true);
    this.name = 'LeaseLostError';
  }
}

/** The signal's reason when the worker shuts down: the job is given back to the queue. */
export class WorkerStoppingError extends JobError {
  constructor(readonly jobId: string) {
    super(`worker stopping; job ${jobId} is released to the queue`, 'worker_stopping', true);
    this.name = 'WorkerStoppingError';
  }
}
