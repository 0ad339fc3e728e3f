// The JobRepository contract on PostgreSQL (the unit suite runs it on SQLite).
import { describe } from 'node:test';
import type { DataSource } from 'typeorm';
import { createDataSource } from '../../../src/platform/persistence/data-source.js';
import { jobRepositoryContract } from '../../unit/platform/jobs/job-repository.contract.js';
import { createTestDatabase, requirePostgres } from '../support/services.js';

const postgres = await requirePostgres();
const drops = new Map<DataSource, () => Promise<void>>();

describe('[postgres] job repository', { skip: postgres.skip }, () => {
  jobRepositoryContract(
    '[postgres]',
    async () => {
      const db = await createTestDatabase(postgres.info!, 'jobrepo');
      const ds = createDataSource({ type: 'postgres', url: db.url }, { poolSize: 8 });
      await ds.initialize();
      drops.set(ds, db.drop);
      return ds;
    },
    async (ds) => {
      await ds.destroy();
      await drops.get(ds)?.();
    },
  );
});
