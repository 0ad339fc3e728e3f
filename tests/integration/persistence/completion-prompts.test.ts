// The completion log's user prompts (the RL prompt set's source) against real
// PostgreSQL, in a fresh database of its own (created here, dropped after).
import { describe } from 'node:test';
import type { DataSource } from 'typeorm';
import { Logger } from '../../../src/platform/logging/logger.js';
import { connectWithRetry, createDataSource } from '../../../src/platform/persistence/data-source.js';
import { completionPromptsContract } from '../../unit/platform/persistence/completion-prompts.contract.js';
import { createTestDatabase, requirePostgres } from '../support/services.js';

const postgres = await requirePostgres();
let drop: (() => Promise<void>) | null = null;

describe('[postgres] completion log prompts', { skip: postgres.skip }, () => {
  completionPromptsContract(
    '[postgres]',
    async (): Promise<DataSource> => {
      const db = await createTestDatabase(postgres.info!, 'rlprompts');
      drop = db.drop;
      const ds = createDataSource({ type: 'postgres', url: db.url }, { poolSize: 2 });
      await connectWithRetry(ds, new Logger('test'), { maxAttempts: 5 });
      return ds;
    },
    async (ds) => {
      await ds.destroy();
      await drop?.();
    },
  );
});
