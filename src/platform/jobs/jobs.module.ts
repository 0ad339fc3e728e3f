// Durable jobs for every role (ARCHITECTURE §3): the JobQueue (enqueue, cancel) and
// the JobHandlers registry, on the job repository the platform module provides
// (JOB_REPOSITORY, like every repository). A role that runs jobs
// registers its handlers in its own onModuleInit, e.g.
//   constructor(@Inject(JobHandlers) handlers: JobHandlers) {}
//   onModuleInit() { this.handlers.register('reward_model', (ctx) => this.train(ctx)); }
// and this module starts one JobWorker for the registered kinds once the database
// and the bus are up, and stops it (handing running jobs back) before they close.
import { type BeforeApplicationShutdown, Inject, Injectable, Module, type OnApplicationBootstrap } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { Dependencies } from '../health/dependencies.service.js';
import { Logger } from '../logging/logger.js';
import type { EventBus } from '../messaging/event-bus.js';
import { EVENT_BUS, JOB_REPOSITORY, METRICS } from '../tokens.js';
import { JobMetrics } from './job-metrics.js';
import { JobHandlers } from './job-handlers.js';
import { JobQueue } from './job-queue.js';
import type { IJobRepository } from './job-repository.js';
import { JobWorker } from './job-worker.js';

const log = new Logger('jobs');

@Injectable()
class JobWorkerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private worker: JobWorker | null = null;

  constructor(
    @Inject(JOB_REPOSITORY) private readonly repository: IJobRepository,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(JobHandlers) private readonly handlers: JobHandlers,
    @Inject(Dependencies) private readonly dependencies: Dependencies,
    @Inject(METRICS) private readonly registry: Registry,
  ) {}

  onApplicationBootstrap(): void {
    // roles registered their handlers in onModuleInit, which has run by now
    if (this.handlers.kinds().length === 0) return;
    const worker = new JobWorker(this.repository, this.bus, this.handlers, { observer: new JobMetrics(this.registry, this.handlers.kinds()) });
    this.worker = worker;
    // not awaited: the database and bus come up in the background (Dependencies)
    this.dependencies.ready
      .then(() => worker.start())
      .catch((err: unknown) => log.error('job worker failed to start', err));
  }

  async beforeApplicationShutdown(): Promise<void> {
    // also when the dependencies never came up: the worker then never starts
    await this.worker?.stop();
  }
}

@Module({
  providers: [
    { provide: JobQueue, useFactory: (repository: IJobRepository, bus: EventBus) => new JobQueue(repository, bus), inject: [JOB_REPOSITORY, EVENT_BUS] },
    { provide: JobHandlers, useFactory: () => new JobHandlers() },
    JobWorkerLifecycle,
  ],
  exports: [JobQueue, JobHandlers],
})
export class JobsModule {}
