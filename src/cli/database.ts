// For one-shot commands: open the configured database, migrated, and close it after.
import { loadConfig, type OuterloopConfig } from '../config/config.js';
import { configureLogging, Logger } from '../platform/logging/logger.js';
import { openDatabase } from '../platform/persistence/database.js';
import type { Repositories } from '../platform/persistence/repositories/index.js';

export async function withDatabase<T>(fn: (repositories: Repositories, config: OuterloopConfig) => Promise<T>): Promise<T> {
  const config = loadConfig();
  configureLogging(config.log);
  const { database, repositories } = openDatabase(config.database);
  await database.connect(new Logger('cli'), { signal: AbortSignal.timeout(60_000) });
  try {
    if (config.runMigrations) await database.migrate();
    return await fn(repositories, config);
  } finally {
    await database.close();
  }
}
