import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { createDataSource } from '../../../../src/platform/persistence/data-source.js';
import { evaluationRecordsContract } from './evaluation-records.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'outerloop-evaluation-records-'));
after(() => rmSync(dir, { recursive: true, force: true }));

evaluationRecordsContract(
  '[sqlite]',
  async () => {
    const ds = createDataSource({ type: 'better-sqlite3', path: join(dir, 'records.sqlite') });
    await ds.initialize();
    return ds;
  },
  (ds) => ds.destroy(),
);
