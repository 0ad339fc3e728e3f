// The `ingest` role: Kafka (or the embedded bus) → database, idempotently.
import { Inject, Injectable, Module, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { Dependencies } from '../../platform/health/dependencies.service.js';
import { Logger } from '../../platform/logging/logger.js';
import type { EventBus } from '../../platform/messaging/event-bus.js';
import type { ICompletionRepository, IFeedbackRepository } from '../../platform/persistence/repositories/index.js';
import { COMPLETION_REPOSITORY, EVENT_BUS, FEEDBACK_REPOSITORY, METRICS } from '../../platform/tokens.js';
import { DEFAULT_INGEST_OPTIONS, IngestService } from './ingest.service.js';
import { roleHeartbeatProvider } from '../role-heartbeat.js';

const log = new Logger('ingest');

/**
 * Subscribes once the database and the bus are up (Dependencies brings them up in
 * the background so /healthz answers at once); stops the consumers — finishing and
 * committing the batch in flight — before the bus closes.
 */
@Injectable()
class IngestLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private starting: Promise<void> | null = null;

  constructor(
    @Inject(IngestService) private readonly ingest: IngestService,
    @Inject(Dependencies) private readonly dependencies: Dependencies,
  ) {}

  onApplicationBootstrap(): void {
    this.starting = this.dependencies.ready.then(() => this.ingest.start());
    this.starting.catch((err: unknown) => log.error('ingest consumers failed to start', err));
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.ingest.stop();
  }
}

@Module({
  providers: [
    {
      provide: IngestService,
      useFactory: (bus: EventBus, completions: ICompletionRepository, feedback: IFeedbackRepository, registry: Registry) =>
        // The bus prepends OUTERLOOP_TOPIC_PREFIX to group ids as to topics, so two
        // deployments sharing a cluster never share committed offsets.
        new IngestService(bus, { completions, feedback }, registry, DEFAULT_INGEST_OPTIONS),
      inject: [EVENT_BUS, COMPLETION_REPOSITORY, FEEDBACK_REPOSITORY, METRICS],
    },
    IngestLifecycle,
    roleHeartbeatProvider('ingest'),
  ],
  exports: [IngestService],
})
export class IngestModule {}
