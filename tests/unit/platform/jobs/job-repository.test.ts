import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { createDataSource } from '../../../../src/platform/persistence/data-source.js';
import { jobRepositoryContract } from './job-repository.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'outerloop-job-repository-'));
after(() => rmSync(dir, { recursive: true, force: true }));

jobRepositoryContract(
  '[sqlite]',
  async () => {
    const ds = createDataSource({ type: 'better-sqlite3', path: join(dir, 'jobs.sqlite') });
    await ds.initialize();
    return ds;
  },
  (ds) => ds.destroy(),
);
