// The database's lifecycle as the rest of the platform sees it: connect (with
// retries), migrate, answer a health probe, close. Health checks and one-shot CLI
// commands use this port; only the adapters below hold the TypeORM DataSource.
import type { DataSource } from 'typeorm';
import type { OuterloopConfig } from '../../config/config.js';
import type { Logger } from '../logging/logger.js';
import { connectWithRetry, createDataSource, runMigrations, type ConnectRetryOptions } from './data-source.js';
import { createRepositories, type Repositories } from './repositories/index.js';

export interface IDatabase {
  /** better-sqlite3 (embedded mode) or postgres (distributed mode) */
  readonly type: OuterloopConfig['database']['type'];
  /** Connect, waiting with backoff while the database is unreachable. */
  connect(logger: Logger, opts?: ConnectRetryOptions): Promise<void>;
  /** Apply pending migrations; the names of those applied. */
  migrate(): Promise<string[]>;
  /** Whether migrations are pending (`outerloop migrate --wait` polls it; applies nothing). */
  hasPendingMigrations(): Promise<boolean>;
  /** Throws unless the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class TypeOrmDatabase implements IDatabase {
  constructor(private readonly dataSource: DataSource) {}

  get type(): OuterloopConfig['database']['type'] {
    return this.dataSource.options.type === 'postgres' ? 'postgres' : 'better-sqlite3';
  }

  async connect(logger: Logger, opts: ConnectRetryOptions = {}): Promise<void> {
    await connectWithRetry(this.dataSource, logger, opts);
  }

  migrate(): Promise<string[]> {
    return runMigrations(this.dataSource);
  }

  hasPendingMigrations(): Promise<boolean> {
    return this.dataSource.showMigrations();
  }

  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/** A database and its repositories, opened from configuration (one-shot commands, tools). */
export interface OpenedDatabase {
  database: IDatabase;
  repositories: Repositories;
}

export function openDatabase(config: OuterloopConfig['database']): OpenedDatabase {
  const dataSource = createDataSource(config);
  return { database: new TypeOrmDatabase(dataSource), repositories: createRepositories(dataSource) };
}
