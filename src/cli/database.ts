// For one-shot commands: open the configured database, migrated, and close it after.
import type { DataSource } from 'typeorm';
import { loadConfig, type OuterloopConfig } from '../config/config.js';
import { configureLogging, Logger } from '../platform/logging/logger.js';
import { connectWithRetry, createDataSource, runMigrations } from '../platform/persistence/data-source.js';

export async function withDatabase<T>(fn: (ds: DataSource, config: OuterloopConfig) => Promise<T>): Promise<T> {
  const config = loadConfig();
  configureLogging(config.log);
  const ds = createDataSource(config.database);
  await connectWithRetry(ds, new Logger('cli'), { signal: AbortSignal.timeout(60_000) });
  try {
    if (config.runMigrations) await runMigrations(ds);
    return await fn(ds, config);
  } finally {
    await ds.destroy();
  }
}
