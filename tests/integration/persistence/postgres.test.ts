// The persistence and dataset contracts against real PostgreSQL, each in a fresh
// database of its own (created here, dropped after), so runs never share state.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import { LocalArtifactStore } from '../../../src/platform/artifacts/local-artifact-store.js';
import { Logger } from '../../../src/platform/logging/logger.js';
import { connectWithRetry, createDataSource, DatabaseConnectError } from '../../../src/platform/persistence/data-source.js';
import { modelRegistryContract } from '../../unit/platform/persistence/model-registry.contract.js';
import { trainingRepositoryContract } from '../../unit/platform/persistence/training.contract.js';
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

  modelRegistryContract('[postgres]', () => freshDataSource('registry'), closeAndDrop);
  trainingRepositoryContract('[postgres]', () => freshDataSource('training'), closeAndDrop);

  datasetServiceContract(
    '[postgres]',
    async () => ({ ds: await freshDataSource('dataset'), store: new LocalArtifactStore(join(dir, 'artifacts')) }),
    closeAndDrop,
  );

  it('[postgres] connectWithRetry waits for a database that comes up late, then connects', async () => {
    // a TCP proxy to the real server that starts listening only after a delay: the
    // "Postgres container still starting" case of a compose or k8s start-up
    const target = new URL(postgres.info!.url);
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    const port = await new Promise<number>((res) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => res(p));
      });
    });
    const late = new URL(postgres.info!.url);
    late.hostname = '127.0.0.1';
    late.port = String(port);
    const ds = createDataSource({ type: 'postgres', url: late.toString() }, { poolSize: 1 });
    const waits: unknown[] = [];
    const logger = new Logger('test');
    const spy = Object.assign(Object.create(logger) as Logger, {
      warn: (msg: string, fields?: Record<string, unknown>) => waits.push({ msg, ...fields }),
    });
    const timer = setTimeout(() => proxy.listen(port, '127.0.0.1'), 600);
    try {
      await connectWithRetry(ds, spy, { initialDelayMs: 50, maxDelayMs: 200, maxAttempts: 100 });
      assert.deepEqual(await ds.query('SELECT 1 AS one'), [{ one: 1 }]);
      assert.ok(waits.length >= 2, `it waited and said so (${waits.length} warnings)`);
      assert.match(JSON.stringify(waits[0]), /waiting for database.*ECONNREFUSED/);
    } finally {
      clearTimeout(timer);
      if (ds.isInitialized) await ds.destroy();
      for (const s of sockets) s.destroy();
      await new Promise((res) => proxy.close(res));
    }
  });

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
