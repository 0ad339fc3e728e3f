// Provides the ports for the configured mode: embedded (SQLite, database-backed
// bus, local artifacts) or distributed (Postgres, Kafka, shared-volume artifacts).
// Service modules depend on the tokens only, never on an adapter.
import { type DynamicModule, Global, Module, type Provider } from '@nestjs/common';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { OuterloopConfig } from '../config/config.js';
import { LocalArtifactStore } from './artifacts/local-artifact-store.js';
import { Dependencies } from './health/dependencies.service.js';
import { HealthController } from './health/health.controller.js';
import { JobsModule } from './jobs/jobs.module.js';
import { TypeOrmJobRepository } from './jobs/typeorm-job-repository.js';
import { createEventBus } from './messaging/index.js';
import { createMetricsRegistry, deadLetterMetrics } from './metrics/metrics.js';
import { createDataSource } from './persistence/data-source.js';
import { TypeOrmDatabase } from './persistence/database.js';
import { createRepositories, type Repositories } from './persistence/repositories/index.js';
import {
  API_KEY_REPOSITORY,
  ARTIFACT_STORE,
  COMPLETION_REPOSITORY,
  CONFIG,
  DATA_SOURCE,
  DATABASE,
  DATASET_SNAPSHOT_REPOSITORY,
  DEPLOYMENT_REPOSITORY,
  EVALUATION_REPOSITORY,
  EVENT_BUS,
  GATE_DECISION_REPOSITORY,
  FEEDBACK_REPOSITORY,
  JOB_REPOSITORY,
  LOOP_ITERATION_REPOSITORY,
  LOOP_LEASE_REPOSITORY,
  METRICS,
  MODEL_REGISTRY_REPOSITORY,
  PREFERENCE_PAIR_REPOSITORY,
  TRANSACTION_RUNNER,
  TRAINING_REPOSITORY,
  USER_FLAG_REPOSITORY,
} from './tokens.js';

/** token → the repository it stands for */
const REPOSITORY_TOKENS: Array<[symbol, keyof Repositories]> = [
  [TRANSACTION_RUNNER, 'transactions'],
  [COMPLETION_REPOSITORY, 'completions'],
  [FEEDBACK_REPOSITORY, 'feedback'],
  [PREFERENCE_PAIR_REPOSITORY, 'preferencePairs'],
  [USER_FLAG_REPOSITORY, 'userFlags'],
  [DATASET_SNAPSHOT_REPOSITORY, 'datasetSnapshots'],
  [API_KEY_REPOSITORY, 'apiKeys'],
  [MODEL_REGISTRY_REPOSITORY, 'modelRegistry'],
  [DEPLOYMENT_REPOSITORY, 'deployments'],
  [EVALUATION_REPOSITORY, 'evaluations'],
  [GATE_DECISION_REPOSITORY, 'gateDecisions'],
  [TRAINING_REPOSITORY, 'training'],
  [LOOP_ITERATION_REPOSITORY, 'loopIterations'],
  [LOOP_LEASE_REPOSITORY, 'loopLeases'],
];

@Global()
@Module({})
export class PlatformModule {
  static forRoot(config: OuterloopConfig): DynamicModule {
    const repositories: Provider[] = REPOSITORY_TOKENS.map(([token, name]) => ({
      provide: token,
      useFactory: (ds: DataSource) => createRepositories(ds)[name],
      inject: [DATA_SOURCE],
    }));
    return {
      module: PlatformModule,
      global: true,
      imports: [JobsModule],
      controllers: [HealthController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: METRICS, useFactory: () => createMetricsRegistry({ mode: config.mode }) },
        { provide: DATA_SOURCE, useFactory: () => createDataSource(config.database) },
        { provide: DATABASE, useFactory: (ds: DataSource) => new TypeOrmDatabase(ds), inject: [DATA_SOURCE] },
        ...repositories,
        { provide: JOB_REPOSITORY, useFactory: (ds: DataSource) => new TypeOrmJobRepository(ds.manager), inject: [DATA_SOURCE] },
        {
          provide: EVENT_BUS,
          useFactory: (ds: DataSource, registry: Registry) => createEventBus(config, ds, deadLetterMetrics(registry)),
          inject: [DATA_SOURCE, METRICS],
        },
        { provide: ARTIFACT_STORE, useFactory: () => new LocalArtifactStore(config.artifactDir) },
        Dependencies,
      ],
      exports: [CONFIG, METRICS, DATABASE, ...REPOSITORY_TOKENS.map(([token]) => token), JOB_REPOSITORY, EVENT_BUS, ARTIFACT_STORE, Dependencies, JobsModule],
    };
  }
}
