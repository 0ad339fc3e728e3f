// `npm run bench -- bus [--events N] [--batch B] [--latency-samples S]`
// Event bus throughput and latency per adapter, measured in one run:
//   - publish: N feedback events in publish() calls of B records, one after another
//     (each call resolves only when durable: SQLite/Postgres commit, Kafka acks=all);
//   - consume: a fresh consumer group drains the N events with a no-op handler
//     (decode + schema validation + offset commits included);
//   - end-to-end latency: S single-event publishes, each awaited until its handler ran.
// Adapters: embedded on SQLite (always; the baseline for ratios), embedded on
// PostgreSQL and Kafka when OUTERLOOP_TEST_DATABASE_URL / OUTERLOOP_TEST_KAFKA_BROKERS
// are set (tests/infra/up.sh writes them to tests/infra/.env, read here too).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { configureLogging } from '../../src/platform/logging/logger.js';
import { EmbeddedEventBus } from '../../src/platform/messaging/embedded/embedded-event-bus.js';
import type { EventBus } from '../../src/platform/messaging/event-bus.js';
import { Topic } from '../../src/platform/messaging/events.js';
import { KafkaEventBus } from '../../src/platform/messaging/kafka/kafka-event-bus.js';
import { createDataSource, runMigrations } from '../../src/platform/persistence/data-source.js';
import { createTestDatabase, deleteKafkaTopics, uniquePrefix } from '../integration/support/services.js';
import { loadInfraEnv, percentileOfSorted, positiveOption } from './options.js';
import { printResult, printTable } from './table.js';

interface AdapterUnderTest {
  name: string;
  conditions: Record<string, unknown>;
  create(prefix: string): Promise<EventBus>;
  teardown(): Promise<void>;
}

function feedback(eventId: string) {
  return { v: 1 as const, eventId, completionId: `c-${eventId}`, type: 'thumbs' as const, value: 1, userId: 'bench', apiKeyId: null, createdAt: new Date().toISOString() };
}

async function embeddedAdapter(name: string, database: Parameters<typeof createDataSource>[0], extra: Record<string, unknown>, drop?: () => Promise<void>): Promise<AdapterUnderTest> {
  const migrator = createDataSource(database);
  await migrator.initialize();
  await runMigrations(migrator);
  await migrator.destroy();
  const sources: DataSource[] = [];
  return {
    name,
    conditions: { database: database.type, pollIntervalMs: 200, ...extra },
    create: async (prefix) => {
      const ds = createDataSource(database);
      await ds.initialize();
      sources.push(ds);
      const bus = new EmbeddedEventBus(ds, { topicPrefix: prefix });
      await bus.start();
      return bus;
    },
    teardown: async () => {
      for (const ds of sources) if (ds.isInitialized) await ds.destroy();
      await drop?.();
    },
  };
}

async function measure(adapter: AdapterUnderTest, events: number, batch: number, latencySamples: number) {
  const prefix = `${uniquePrefix('bench')}.`;
  const bus = await adapter.create(prefix);
  try {
    // publish
    const batchMs: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < events; i += batch) {
      const records = [];
      for (let j = i; j < Math.min(events, i + batch); j++) records.push({ key: `conv-${j % 64}`, value: feedback(`e${j}`) });
      const s = performance.now();
      await bus.publish(Topic.feedback, records);
      batchMs.push(performance.now() - s);
    }
    const publishMs = performance.now() - t0;

    // consume (a new group from the beginning)
    let consumed = 0;
    let resolveDrained!: () => void;
    const drained = new Promise<void>((r) => (resolveDrained = r));
    const c0 = performance.now();
    const sub = await bus.subscribe({
      topic: Topic.feedback,
      groupId: 'drain',
      maxBatchSize: 500,
      handleBatch: async (msgs) => {
        consumed += msgs.length;
        if (consumed >= events) resolveDrained();
      },
    });
    await drained;
    const consumeMs = performance.now() - c0;

    // end-to-end latency: the same subscription, one event at a time
    const latencies: number[] = [];
    let waiting: { id: string; resolve: () => void } | null = null;
    const e2e = await bus.subscribe({
      topic: Topic.feedback,
      groupId: 'latency',
      fromBeginning: false,
      handleBatch: async (msgs) => {
        if (waiting && msgs.some((m) => m.value.eventId === waiting!.id)) waiting.resolve();
      },
    });
    await new Promise((r) => setTimeout(r, adapter.name === 'kafka' ? 3000 : 300)); // group joined
    for (let i = 0; i < latencySamples; i++) {
      const id = `lat${i}`;
      const s = performance.now();
      await new Promise<void>((resolve) => {
        waiting = { id, resolve };
        void bus.publish(Topic.feedback, [{ key: 'lat', value: feedback(id) }]);
      });
      latencies.push(performance.now() - s);
    }
    await e2e.stop();
    await sub.stop();
    batchMs.sort((a, b) => a - b);
    latencies.sort((a, b) => a - b);
    return {
      publishEventsPerSec: (events / publishMs) * 1000,
      publishBatchP50Ms: percentileOfSorted(batchMs, 50),
      publishBatchP99Ms: percentileOfSorted(batchMs, 99),
      consumeEventsPerSec: (events / consumeMs) * 1000,
      e2eLatencyP50Ms: percentileOfSorted(latencies, 50),
      e2eLatencyP99Ms: percentileOfSorted(latencies, 99),
      prefix,
    };
  } finally {
    await bus.close();
  }
}

export async function run(args: string[]): Promise<void> {
  const events = positiveOption(args, 'events', 20_000, true);
  const batch = positiveOption(args, 'batch', 100, true);
  const latencySamples = positiveOption(args, 'latency-samples', 100, true);
  configureLogging({ format: 'json', level: 'error' });
  loadInfraEnv();

  const dir = mkdtempSync(join(tmpdir(), 'outerloop-bus-bench-'));
  const adapters: AdapterUnderTest[] = [
    await embeddedAdapter('embedded-sqlite', { type: 'better-sqlite3', path: join(dir, 'bus.sqlite') }, { journal: 'WAL', synchronous: 'NORMAL' }),
  ];
  const pgUrl = process.env.OUTERLOOP_TEST_DATABASE_URL;
  if (pgUrl) {
    const db = await createTestDatabase({ url: pgUrl }, 'busbench');
    adapters.push(await embeddedAdapter('embedded-postgres', { type: 'postgres', url: db.url }, { server: 'tests/infra/postgres.sh (fsync=off)' }, db.drop));
  } else process.stderr.write('OUTERLOOP_TEST_DATABASE_URL not set: skipping embedded-postgres\n');
  const brokers = process.env.OUTERLOOP_TEST_KAFKA_BROKERS?.split(',').filter(Boolean);
  const kafkaPrefixes: string[] = [];
  if (brokers?.length) {
    adapters.push({
      name: 'kafka',
      conditions: { brokers: brokers.length, acks: 'all', idempotent: true, maxInFlightRequests: 1, partitions: 3, broker: 'tests/infra/kafka.sh (single node KRaft, -Xmx512m)' },
      create: async (prefix) => {
        kafkaPrefixes.push(prefix);
        const bus = new KafkaEventBus({ brokers, clientId: 'bench', topicPrefix: prefix });
        await bus.start();
        return bus;
      },
      teardown: async () => {
        for (const p of kafkaPrefixes) await deleteKafkaTopics({ brokers }, p);
      },
    });
  } else process.stderr.write('OUTERLOOP_TEST_KAFKA_BROKERS not set: skipping kafka\n');

  const results: Record<string, Awaited<ReturnType<typeof measure>> & { conditions: Record<string, unknown> }> = {};
  try {
    for (const a of adapters) {
      process.stderr.write(`measuring ${a.name}…\n`);
      results[a.name] = { ...(await measure(a, events, batch, latencySamples)), conditions: a.conditions };
    }
  } finally {
    for (const a of adapters) await a.teardown();
    rmSync(dir, { recursive: true, force: true });
  }

  const base = results['embedded-sqlite']!;
  printTable(`event bus: ${events} events, publish() batches of ${batch}, ${latencySamples} latency samples`, Object.entries(results).map(([name, r]) => ({
    adapter: name,
    'publish ev/s': Math.round(r.publishEventsPerSec),
    'batch p50 ms': r.publishBatchP50Ms,
    'batch p99 ms': r.publishBatchP99Ms,
    'consume ev/s': Math.round(r.consumeEventsPerSec),
    'e2e p50 ms': r.e2eLatencyP50Ms,
    'e2e p99 ms': r.e2eLatencyP99Ms,
    'publish vs sqlite': r.publishEventsPerSec / base.publishEventsPerSec,
    'consume vs sqlite': r.consumeEventsPerSec / base.consumeEventsPerSec,
  })));
  printResult('bus', {
    conditions: { events, batch, latencySamples, consumerMaxBatchSize: 500, baseline: 'embedded-sqlite' },
    units: { publishEventsPerSec: 'events/s', consumeEventsPerSec: 'events/s', publishBatchP50Ms: 'ms', publishBatchP99Ms: 'ms', e2eLatencyP50Ms: 'ms', e2eLatencyP99Ms: 'ms', ratios: 'adapter / embedded-sqlite, same run' },
    adapters: Object.fromEntries(
      Object.entries(results).map(([name, { prefix: _prefix, ...r }]) => [
        name,
        { ...r, publishRatioVsSqlite: r.publishEventsPerSec / base.publishEventsPerSec, consumeRatioVsSqlite: r.consumeEventsPerSec / base.consumeEventsPerSec },
      ]),
    ),
  });
}
