// The persistence and dataset contracts against real PostgreSQL, each in a fresh
// database of its own (created here, dropped after), so runs never share state.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import { LocalArtifactStore } from '../../../src/platform/artifacts/local-artifact-store.js';
import { Logger } from '../../../src/platform/logging/logger.js';
import { connectWithRetry, createDataSource, DatabaseConnectError } from '../../../src/platform/persistence/data-source.js';
import { persistenceContract } from '../../unit/platform/persistence/persistence.contract.js';
import { datasetServiceContract } from '../../unit/services/ingest/dataset/dataset-service.contract.js';
import { createTestDatabase, requirePostgres } from '../support/services.js';

const postgres = await requirePostgres();
const dir = mkdtempSync(join(tmpdir(), 'outerloop-pg-persistence-'));
const drops = new Map<DataSource, () => Promise<void>>();
after(() => rmSync(dir, { recursive: true, force: true }));

async function freshDataSource(label: string): Promise<DataSource> {
  const db = await createTestDatabase(postgres.info!, label);
  const ds = createDataSource({ type: 'postgres', url: db.url }, { poolSize: 4 });
  await connectWithRetry(ds, new Logger('test'), { maxAttempts: 5 });
  drops.set(ds, db.drop);
  return ds;
}

async function closeAndDrop(ds: DataSource): Promise<void> {
  await ds.destroy();
  await drops.get(ds)?.();
}

describe('[postgres] persistence', { skip: postgres.skip }, () => {
  persistenceContract('[postgres]', () => freshDataSource('persist'), closeAndDrop);

  datasetServiceContract(
    '[postgres]',
    async () => ({ ds: await freshDataSource('dataset'), store: new LocalArtifactStore(join(dir, 'artifacts')) }),
    closeAndDrop,
  );

  it('[postgres] wrong credentials fail at once, not after a long wait', async () => {
    const url = new URL(postgres.info!.url);
    url.password = 'definitely-wrong';
    const ds = createDataSource({ type: 'postgres', url: url.toString() });
    const started = Date.now();
    await assert.rejects(connectWithRetry(ds, new Logger('test'), { initialDelayMs: 1000 }), (err: unknown) => {
      assert.ok(err instanceof DatabaseConnectError);
      assert.equal(err.retriable, false);
      assert.doesNotMatch(err.message, /definitely-wrong/);
      return true;
    });
    assert.ok(Date.now() - started < 1000, 'no backoff for a non-retriable error');
  });
});
