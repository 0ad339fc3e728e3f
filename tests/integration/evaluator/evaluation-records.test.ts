// The evaluation and gate-decision repositories on real PostgreSQL, in a fresh database.
import { after, describe } from 'node:test';
import type { DataSource } from 'typeorm';
import { Logger } from '../../../src/platform/logging/logger.js';
import { connectWithRetry, createDataSource } from '../../../src/platform/persistence/data-source.js';
import { evaluationRecordsContract } from '../../unit/services/evaluator/evaluation-records.contract.js';
import { createTestDatabase, requirePostgres } from '../support/services.js';

const postgres = await requirePostgres();
const drops = new Map<DataSource, () => Promise<void>>();
after(async () => {
  for (const drop of drops.values()) await drop();
});

describe('[postgres] evaluator records', { skip: postgres.skip }, () => {
  evaluationRecordsContract(
    '[postgres]',
    async () => {
      const db = await createTestDatabase(postgres.info!, 'evalrec');
      const ds = createDataSource({ type: 'postgres', url: db.url }, { poolSize: 4 });
      await connectWithRetry(ds, new Logger('test'), { maxAttempts: 5 });
      drops.set(ds, db.drop);
      return ds;
    },
    async (ds) => {
      await ds.destroy();
      await drops.get(ds)?.();
      drops.delete(ds);
    },
  );
});
