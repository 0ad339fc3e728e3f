// The `ingest` role: Kafka (or the embedded bus) → database, idempotently.
import { Inject, Injectable, Module, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { OuterloopConfig } from '../../config/config.js';
import type { EventBus } from '../../platform/messaging/event-bus.js';
import { CONFIG, DATA_SOURCE, EVENT_BUS, METRICS } from '../../platform/tokens.js';
import { DEFAULT_INGEST_OPTIONS, IngestService } from './ingest.service.js';

@Injectable()
class IngestLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(@Inject(IngestService) private readonly ingest: IngestService) {}
  async onApplicationBootstrap(): Promise<void> {
    await this.ingest.start();
  }
  async beforeApplicationShutdown(): Promise<void> {
    await this.ingest.stop();
  }
}

@Module({
  providers: [
    {
      provide: IngestService,
      useFactory: (config: OuterloopConfig, bus: EventBus, dataSource: DataSource, registry: Registry) =>
        // Group ids carry the topic prefix so two deployments sharing a cluster
        // (or parallel test runs) never share committed offsets.
        new IngestService(bus, dataSource, registry, { ...DEFAULT_INGEST_OPTIONS, groupPrefix: `${config.topicPrefix}outerloop.` }),
      inject: [CONFIG, EVENT_BUS, DATA_SOURCE, METRICS],
    },
    IngestLifecycle,
  ],
  exports: [IngestService],
})
export class IngestModule {}
