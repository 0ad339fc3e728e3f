import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Logger } from '../../../../src/platform/logging/logger.js';
import { connectWithRetry, createDataSource, DatabaseConnectError, isRetriableConnectError } from '../../../../src/platform/persistence/data-source.js';
import { completionPromptsContract } from './completion-prompts.contract.js';
import { modelRegistryContract } from './model-registry.contract.js';
import { persistenceContract } from './persistence.contract.js';
import { trainingRepositoryContract } from './training.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'outerloop-persistence-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function openSqlite(path: string) {
  const ds = createDataSource({ type: 'better-sqlite3', path });
  await ds.initialize();
  return ds;
}

persistenceContract('[sqlite]', () => openSqlite(join(dir, 'nested', 'dir', 'contract.sqlite')), (ds) => ds.destroy());

modelRegistryContract('[sqlite]', () => openSqlite(join(dir, 'registry.sqlite')), (ds) => ds.destroy());

trainingRepositoryContract('[sqlite]', () => openSqlite(join(dir, 'training.sqlite')), (ds) => ds.destroy());

completionPromptsContract('[sqlite]', () => openSqlite(join(dir, 'completion-prompts.sqlite')), (ds) => ds.destroy());

describe('[sqlite] data source settings', () => {
  it('creates the parent directory and enables WAL, foreign keys and a busy timeout', async () => {
    const ds = createDataSource({ type: 'better-sqlite3', path: join(dir, 'a', 'b', 'settings.sqlite') }, { busyTimeoutMs: 1234 });
    await connectWithRetry(ds, new Logger('test'));
    try {
      assert.deepEqual(await ds.query('PRAGMA journal_mode'), [{ journal_mode: 'wal' }]);
      assert.deepEqual(await ds.query('PRAGMA foreign_keys'), [{ foreign_keys: 1 }]);
      assert.deepEqual(await ds.query('PRAGMA busy_timeout'), [{ timeout: 1234 }]);
      assert.equal(ds.options.synchronize, false);
      assert.equal(ds.options.migrationsRun, false);
    } finally {
      await ds.destroy();
    }
  });
});

describe('connectWithRetry', () => {
  it('waits with backoff while the database refuses connections, then gives up with a retriable error', async () => {
    // nothing listens on port 1: ECONNREFUSED, the "database not up yet" case
    const ds = createDataSource({ type: 'postgres', url: 'postgres://u:secret@127.0.0.1:1/none' });
    const started = Date.now();
    await assert.rejects(connectWithRetry(ds, new Logger('test'), { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 3 }), (err: unknown) => {
      assert.ok(err instanceof DatabaseConnectError);
      assert.equal(err.retriable, true);
      assert.match(err.message, /after 3 attempts/);
      assert.doesNotMatch(err.message, /secret/);
      return true;
    });
    assert.ok(Date.now() - started >= 10, 'it waited between attempts');
  });

  it('classifies errors: refused/starting-up are retriable, bad credentials are not', () => {
    assert.equal(isRetriableConnectError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), true);
    assert.equal(isRetriableConnectError(Object.assign(new Error('the database system is starting up'), { code: '57P03' })), true);
    assert.equal(isRetriableConnectError(Object.assign(new Error('password authentication failed'), { code: '28P01' })), false);
    assert.equal(isRetriableConnectError(Object.assign(new Error('database "x" does not exist'), { code: '3D000' })), false);
  });
});
