// One "process" of the job contract tests: its own DataSource and event bus on the
// mode's shared stores (embedded: SQLite + the database-backed bus; distributed:
// PostgreSQL + Kafka), with the job repository, queue and workers on top. The
// contract test opens several (each like a separate process) and worker-child.ts
// opens one in a child process it can SIGKILL.
import type { DataSource } from 'typeorm';
import { Logger } from '../../../src/platform/logging/logger.js';
import { EmbeddedEventBus } from '../../../src/platform/messaging/embedded/embedded-event-bus.js';
import type { DeadLetterReader, EventBus } from '../../../src/platform/messaging/event-bus.js';
import { KafkaEventBus } from '../../../src/platform/messaging/kafka/kafka-event-bus.js';
import { createDataSource, runMigrations } from '../../../src/platform/persistence/data-source.js';
import { JobHandlers } from '../../../src/platform/jobs/job-handlers.js';
import { JobQueue } from '../../../src/platform/jobs/job-queue.js';
import { JobWorker, type JobWorkerOptions } from '../../../src/platform/jobs/job-worker.js';
import { TypeOrmJobRepository } from '../../../src/platform/jobs/typeorm-job-repository.js';

export interface NodeConfig {
  database: { type: 'better-sqlite3'; path: string } | { type: 'postgres'; url: string };
  bus: { adapter: 'embedded' } | { adapter: 'kafka'; brokers: string[] };
  /** isolates the test's topics and consumer groups */
  topicPrefix: string;
}

export interface JobNode {
  readonly dataSource: DataSource;
  readonly bus: EventBus & DeadLetterReader;
  readonly repository: TypeOrmJobRepository;
  readonly queue: JobQueue;
  /** a started worker for these handlers; short lease and poll period unless overridden */
  startWorker(handlers: JobHandlers, options?: JobWorkerOptions): Promise<JobWorker>;
  /** stop this node's workers, close the bus and the data source */
  close(): Promise<void>;
}

/** fast retries keep the tests short; the semantics are the same */
const FAST_BACKOFF = { initialMs: 20, maxMs: 200 };

/**
 * @param shared  a DataSource to use instead of opening one (not closed by this node).
 *   Embedded mode shares one SQLite connection per process: better-sqlite3 waits
 *   for a lock synchronously, so two connections in ONE process deadlock as soon as
 *   both are inside a transaction (the bus's publish) — the waiter blocks the event
 *   loop the holder needs to commit. Separate processes each get their own.
 */
export async function openNode(config: NodeConfig, logger = new Logger('jobs-test'), shared?: DataSource): Promise<JobNode> {
  const dataSource = shared ?? createDataSource(config.database, { poolSize: 4 });
  if (!shared) await dataSource.initialize(); // migrated by the test
  const bus =
    config.bus.adapter === 'kafka'
      ? new KafkaEventBus({ brokers: config.bus.brokers, clientId: 'jobs-test', topicPrefix: config.topicPrefix, backoff: FAST_BACKOFF, sessionTimeoutMs: 6000, logger })
      : new EmbeddedEventBus(dataSource, { topicPrefix: config.topicPrefix, pollIntervalMs: 50, backoff: FAST_BACKOFF, logger });
  await bus.start();
  const repository = new TypeOrmJobRepository(dataSource.manager);
  const workers: JobWorker[] = [];
  return {
    dataSource,
    bus,
    repository,
    queue: new JobQueue(repository, bus, { logger }),
    async startWorker(handlers, options = {}) {
      const worker = new JobWorker(repository, bus, handlers, {
        leaseMs: 3000,
        pollIntervalMs: 100,
        retryBackoff: { initialMs: 10, maxMs: 50 },
        stopGraceMs: 10_000,
        logger,
        ...options,
      });
      await worker.start();
      workers.push(worker);
      return worker;
    },
    async close() {
      for (const w of workers) await w.stop();
      await bus.close();
      if (!shared && dataSource.isInitialized) await dataSource.destroy();
    },
  };
}

/** Apply the migrations to a fresh test database. */
export async function migrateDatabase(database: NodeConfig['database']): Promise<void> {
  const ds = createDataSource(database);
  await ds.initialize();
  try {
    await runMigrations(ds);
  } finally {
    await ds.destroy();
  }
}
