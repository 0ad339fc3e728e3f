// A consumer in its own process, so the contract test can SIGKILL it mid-stream and
// start another: the real crash (no finally blocks, no close(), no last commit).
//
// It consumes the feedback topic with one consumer group and writes each event id
// into a SQLite "sink" table keyed by event id, the way ingest upserts by event id.
// `deliveries` counts how often an id arrived: above 1 means it was redelivered
// after the crash (expected with at-least-once); the primary key is what keeps the
// effect exactly-once. The test asserts on both.
//
// Configuration: env OUTERLOOP_TEST_CHILD (JSON, ChildConfig). Prints "READY" on stdout
// once subscribed.
import Database from 'better-sqlite3';
import { Logger } from '../../../src/platform/logging/logger.js';
import { EmbeddedEventBus } from '../../../src/platform/messaging/embedded/embedded-event-bus.js';
import type { EventBus } from '../../../src/platform/messaging/event-bus.js';
import { Topic } from '../../../src/platform/messaging/events.js';
import { KafkaEventBus } from '../../../src/platform/messaging/kafka/kafka-event-bus.js';
import { createDataSource } from '../../../src/platform/persistence/data-source.js';
import { SINK_TABLE_SQL, type ChildConfig } from './child-config.js';

async function main(): Promise<void> {
  const raw = process.env.OUTERLOOP_TEST_CHILD;
  if (!raw) throw new Error('OUTERLOOP_TEST_CHILD (JSON config) is not set');
  const config = JSON.parse(raw) as ChildConfig;
  const log = new Logger('consumer-child');

  const sink = new Database(config.sinkPath, { timeout: 10_000 });
  sink.pragma('journal_mode = WAL');
  sink.exec(SINK_TABLE_SQL);
  const upsert = sink.prepare('INSERT INTO handled (event_id, deliveries) VALUES (?, 1) ON CONFLICT (event_id) DO UPDATE SET deliveries = deliveries + 1');
  const writeBatch = sink.transaction((ids: string[]) => {
    for (const id of ids) upsert.run(id);
  });

  let bus: EventBus;
  if (config.bus.adapter === 'kafka') {
    bus = new KafkaEventBus({
      brokers: config.bus.brokers,
      clientId: 'consumer-child',
      topicPrefix: config.topicPrefix,
      // the broker's minimum: the dead predecessor's partitions move after this
      sessionTimeoutMs: 6000,
      logger: log,
    });
  } else {
    const ds = createDataSource(config.bus.database);
    await ds.initialize(); // migrated by the parent
    bus = new EmbeddedEventBus(ds, { topicPrefix: config.topicPrefix, pollIntervalMs: 50, logger: log });
  }
  await bus.start();
  await bus.subscribe({
    topic: Topic.feedback,
    groupId: config.groupId,
    maxBatchSize: config.maxBatchSize,
    handleBatch: async (messages) => {
      writeBatch(messages.map((m) => m.value.eventId));
    },
  });
  process.stdout.write('READY\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`consumer-child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
