// Durable jobs for every role (ARCHITECTURE §3): the JobRepository (TypeORM), the
// JobQueue (enqueue, cancel) and the JobHandlers registry. A role that runs jobs
// registers its handlers in its own onModuleInit, e.g.
//   constructor(@Inject(JobHandlers) handlers: JobHandlers) {}
//   onModuleInit() { this.handlers.register('reward_model', (ctx) => this.train(ctx)); }
// and this module starts one JobWorker for the registered kinds once the database
// and the bus are up, and stops it (handing running jobs back) before they close.
import { type BeforeApplicationShutdown, Inject, Injectable, Module, type OnApplicationBootstrap } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { Dependencies } from '../health/dependencies.service.js';
import { Logger } from '../logging/logger.js';
import type { EventBus } from '../messaging/event-bus.js';
import { DATA_SOURCE, EVENT_BUS } from '../tokens.js';
import { JobHandlers } from './job-handlers.js';
import { JobQueue } from './job-queue.js';
import { JOB_REPOSITORY, type JobRepository } from './job-repository.js';
import { JobWorker } from './job-worker.js';
import { TypeormJobRepository } from './typeorm-job-repository.js';

const log = new Logger('jobs');

@Injectable()
class JobWorkerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private worker: JobWorker | null = null;

  constructor(
    @Inject(JOB_REPOSITORY) private readonly repository: JobRepository,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(JobHandlers) private readonly handlers: JobHandlers,
    @Inject(Dependencies) private readonly dependencies: Dependencies,
  ) {}

  onApplicationBootstrap(): void {
    // roles registered their handlers in onModuleInit, which has run by now
    if (this.handlers.kinds().length === 0) return;
    const worker = new JobWorker(this.repository, this.bus, this.handlers);
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
    { provide: JOB_REPOSITORY, useFactory: (ds: DataSource) => new TypeormJobRepository(ds), inject: [DATA_SOURCE] },
    { provide: JobQueue, useFactory: (repository: JobRepository, bus: EventBus) => new JobQueue(repository, bus), inject: [JOB_REPOSITORY, EVENT_BUS] },
    { provide: JobHandlers, useFactory: () => new JobHandlers() },
    JobWorkerLifecycle,
  ],
  exports: [JOB_REPOSITORY, JobQueue, JobHandlers],
})
export class JobsModule {}
