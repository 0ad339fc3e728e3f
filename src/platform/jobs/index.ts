// Durable jobs: the row is the job, the bus wakes workers and streams progress
// (docs/jobs.md). Roles use JobQueue to enqueue and JobHandlers to run.
export * from './errors.js';
export * from './job-handlers.js';
export { JobMetrics } from './job-metrics.js';
export * from './job-queue.js';
export * from './job-repository.js';
export * from './job-worker.js';
export { TypeOrmJobRepository } from './typeorm-job-repository.js';
export { JobsModule } from './jobs.module.js';
