// The EventBus contract against the embedded adapter: the event log in a SQLite file
// (the default embedded mode) and the same adapter on PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { DataSource } from 'typeorm';
import type { OuterloopConfig } from '../../../src/config/config.js';
import { EmbeddedEventBus } from '../../../src/platform/messaging/embedded/embedded-event-bus.js';
import { createDataSource, runMigrations } from '../../../src/platform/persistence/data-source.js';
import { createTestDatabase, requirePostgres } from '../support/services.js';
import { eventBusContract, type BusHarness } from './event-bus.contract.js';

/** One database per suite; each bus gets its own DataSource, like a separate process would. */
function embeddedHarness(database: () => OuterloopConfig['database']): { harness: () => BusHarness; close(): Promise<void> } {
  const sources: DataSource[] = [];
  return {
    harness: () => ({
      createBus: async (prefix) => {
        const ds = createDataSource(database());
        await ds.initialize();
        sources.push(ds);
        const bus = new EmbeddedEventBus(ds, { topicPrefix: prefix, pollIntervalMs: 50, backoff: { initialMs: 20, maxMs: 200 } });
        await bus.start();
        return bus;
      },
      childBus: () => ({ adapter: 'embedded', database: database() }),
      crashRecoveryMs: 2000,
    }),
    close: async () => {
      for (const ds of sources) if (ds.isInitialized) await ds.destroy();
    },
  };
}

async function migrate(database: OuterloopConfig['database']): Promise<void> {
  const ds = createDataSource(database);
  await ds.initialize();
  try {
    await runMigrations(ds);
  } finally {
    await ds.destroy();
  }
}

describe('[sqlite] embedded event bus', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outerloop-embedded-bus-'));
  const database = { type: 'better-sqlite3' as const, path: join(dir, 'bus.sqlite') };
  const h = embeddedHarness(() => database);
  before(() => migrate(database));
  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });
  eventBusContract('[sqlite]', h.harness);
});

const postgres = await requirePostgres();

describe('[postgres] embedded event bus', { skip: postgres.skip }, () => {
  let database: { type: 'postgres'; url: string } | undefined;
  let drop: (() => Promise<void>) | undefined;
  const h = embeddedHarness(() => {
    if (!database) throw new Error('the test database was not created');
    return database;
  });
  before(async () => {
    const db = await createTestDatabase(postgres.info!, 'embeddedbus');
    database = { type: 'postgres', url: db.url };
    drop = db.drop;
    await migrate(database);
  });
  after(async () => {
    await h.close();
    await drop?.();
  });
  eventBusContract('[postgres]', h.harness);
});
