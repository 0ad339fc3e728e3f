// The durable-job contract in embedded mode: SQLite and the database-backed bus,
// each test in a fresh database file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { uniquePrefix } from '../support/services.js';
import { jobContract } from './job.contract.js';
import { migrateDatabase } from './node.js';

const dir = mkdtempSync(join(tmpdir(), 'outerloop-jobs-embedded-'));

describe('[sqlite] durable jobs, embedded mode', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));
  jobContract('[sqlite]', () => ({
    newStores: async (label) => {
      const database = { type: 'better-sqlite3' as const, path: join(dir, `${uniquePrefix(label)}.sqlite`) };
      await migrateDatabase(database);
      return { database, bus: { adapter: 'embedded' }, topicPrefix: `${uniquePrefix(label)}.` };
    },
    dropStores: async () => undefined, // the directory goes after the suite
    oneConnectionPerProcess: true,
  }));
});
