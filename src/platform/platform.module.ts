// Provides the ports for the configured mode: embedded (SQLite, database-backed
// bus, local artifacts) or distributed (Postgres, Kafka, shared-volume artifacts).
// Service modules depend on the tokens only, never on an adapter.
import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { OuterloopConfig } from '../config/config.js';
import { LocalArtifactStore } from './artifacts/local-artifact-store.js';
import { Dependencies } from './health/dependencies.service.js';
import { HealthController } from './health/health.controller.js';
import { createEventBus } from './messaging/index.js';
import { createMetricsRegistry } from './metrics/metrics.js';
import { createDataSource } from './persistence/data-source.js';
import { ARTIFACT_STORE, CONFIG, DATA_SOURCE, EVENT_BUS, METRICS } from './tokens.js';

@Global()
@Module({})
export class PlatformModule {
  static forRoot(config: OuterloopConfig): DynamicModule {
    return {
      module: PlatformModule,
      global: true,
      controllers: [HealthController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: METRICS, useFactory: () => createMetricsRegistry({ mode: config.mode }) },
        { provide: DATA_SOURCE, useFactory: () => createDataSource(config.database) },
        {
          provide: EVENT_BUS,
          useFactory: (ds: DataSource) => createEventBus(config, ds),
          inject: [DATA_SOURCE],
        },
        { provide: ARTIFACT_STORE, useFactory: () => new LocalArtifactStore(config.artifactDir) },
        Dependencies,
      ],
      exports: [CONFIG, METRICS, DATA_SOURCE, EVENT_BUS, ARTIFACT_STORE, Dependencies],
    };
  }
}
