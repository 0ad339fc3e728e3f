// Fault acceptance for feedback ingestion (issue 6): 50,000 feedback events go
// through the real HTTP API of a real gateway process while the ingest process is
// SIGKILLed and restarted twice and the Kafka broker is restarted once. Afterwards
// the set of acknowledged event ids must equal the set persisted in PostgreSQL —
// nothing acknowledged is lost, nothing is stored twice. Also: a replayed batch
// (same client event ids) changes nothing, and malformed events on the topic go to
// the dead-letter topic with a reason without stalling the consumer.
//
// Runs serially (it restarts the shared test broker); ~2 minutes on 2 cores.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { KafkaEventBus } from '../../../src/platform/messaging/kafka/kafka-event-bus.js';
import { Topic, type DeadLetter } from '../../../src/platform/messaging/events.js';
import { createDataSource, runMigrations } from '../../../src/platform/persistence/data-source.js';
import { createTestDatabase, requireKafka, requirePostgres, uniquePrefix, waitFor } from '../support/services.js';
import { JsonClient, completionEvent, feedbackBody, sleep, startOuterloop, waitUntilReady, type DistributedEnv, type OuterloopProcess } from './harness.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const run = promisify(execFile);

const TOTAL_EVENTS = 50_000;
const BATCH_SIZE = 250;
const BATCHES = TOTAL_EVENTS / BATCH_SIZE;
const SENDERS = 4;
/** spread the load so the faults below happen while events are in flight */
const SEND_WINDOW_MS = 45_000;
const COMPLETIONS = 200;
/** the gateway must acknowledge everything within this time despite the faults */
const SEND_DEADLINE_MS = 150_000;

const kafka = await requireKafka();
const postgres = await requirePostgres();
const skip = kafka.skip || postgres.skip;

describe('[kafka+postgres] feedback ingestion: no loss, no double counting under crashes and a broker restart', { skip, timeout: 300_000 }, () => {
  const logDir = mkdtempSync(join(tmpdir(), 'outerloop-noloss-'));
  const prefix = `${uniquePrefix('noloss')}.`;
  let db: { url: string; drop(): Promise<void> };
  let target: DistributedEnv;
  let bus: KafkaEventBus;
  let admin: kafkajs.Admin;
  let sql: pg.Client;
  let gateway: OuterloopProcess;
  let ingest: OuterloopProcess;
  let http: JsonClient;
  const completionIds = Array.from({ length: COMPLETIONS }, (_, i) => `${prefix}c${i}`);
  const acknowledged = new Set<string>();
  const batchIds = new Map<number, string[]>();
  let ingestStarts = 0;

  const startIngest = async () => startOuterloop('ingest', target, join(logDir, `ingest-${++ingestStarts}.log`));
  const feedbackGroup = () => `${prefix}outerloop.ingest.feedback`;

  /** consumer group caught up with every partition's end offset */
  async function feedbackDrained(): Promise<boolean> {
    const topic = `${prefix}${Topic.feedback}`;
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: feedbackGroup(), topics: [topic] })]);
    const done = new Map(committed[0]!.partitions.map((p) => [p.partition, Number(p.offset)]));
    return ends.every((e) => Number(e.high) === 0 || done.get(e.partition) === Number(e.high));
  }

  async function persistedCount(): Promise<number> {
    const r = await sql.query<{ n: string }>('SELECT count(*) AS n FROM feedback_events');
    return Number(r.rows[0]!.n);
  }

  function batchBody(b: number) {
    return { events: Array.from({ length: BATCH_SIZE }, (_, j) => feedbackBody(b * BATCH_SIZE + j, completionIds, `b${b}-e${j}`)) };
  }

  before(async () => {
    db = await createTestDatabase(postgres.info!, 'noloss');
    const ds = createDataSource({ type: 'postgres', url: db.url });
    await ds.initialize();
    await runMigrations(ds);
    await ds.destroy();
    target = { databaseUrl: db.url, brokers: kafka.info!.brokers, topicPrefix: prefix };
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();

    bus = new KafkaEventBus({ brokers: kafka.info!.brokers, clientId: 'noloss-test', topicPrefix: prefix, maxStartAttempts: 20 });
    await bus.start(); // creates the prefixed topics
    admin = new kafkajs.Kafka({ brokers: kafka.info!.brokers, clientId: 'noloss-test-admin', logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();

    ingest = await startIngest();
    gateway = await startOuterloop('gateway', target, join(logDir, 'gateway.log'), { OUTERLOOP_GATEWAY_AUTH: 'open', OUTERLOOP_DATA_DIR: join(logDir, 'gateway-data') });
    await waitUntilReady(gateway);
    http = new JsonClient('127.0.0.1', gateway.port, SENDERS * 2);

    // The completions the feedback is about, as the gateway would have produced them.
    await bus.publish(Topic.completions, completionIds.map((id) => ({ key: `conv-${id}`, value: completionEvent(id) })));
    await waitFor('completions ingested', async () => (await sql.query('SELECT count(*) AS n FROM completions')).rows[0].n === String(COMPLETIONS), 60_000, 200);
  });

  after(async () => {
    http?.close();
    await Promise.allSettled([gateway?.stop(), ingest?.stop()]);
    await Promise.allSettled([bus?.close(), admin?.disconnect(), sql?.end()]);
    await db?.drop();
  });

  it('every acknowledged event is persisted exactly once through 2 ingest SIGKILLs and a broker restart', async () => {
    const stats = { requests: 0, unavailable: 0, networkErrors: 0, faults: [] as string[] };
    const started = Date.now();
    let sending = true;

    let lastRefusal = '';
    async function sendBatch(b: number): Promise<void> {
      const body = batchBody(b);
      for (;;) {
        if (Date.now() - started > SEND_DEADLINE_MS) {
          throw new Error(`batch ${b} still not acknowledged after ${SEND_DEADLINE_MS} ms (${stats.unavailable} x 503, last: ${lastRefusal}); faults: ${stats.faults.join(', ')}`);
        }
        stats.requests++;
        let r;
        try {
          r = await http.post('/v1/feedback/batch', body);
        } catch (err) {
          stats.networkErrors++;
          lastRefusal = (err as Error).message;
          await sleep(250);
          continue;
        }
        if (r.status === 202) {
          const ids = (r.body as { event_ids: string[] }).event_ids;
          assert.equal(ids.length, BATCH_SIZE);
          batchIds.set(b, ids);
          for (const id of ids) acknowledged.add(id);
          return;
        }
        // 503 (bus unavailable) must carry Retry-After; the client retries with the same event ids
        assert.equal(r.status, 503, `batch ${b}: unexpected ${r.status} ${JSON.stringify(r.body)}`);
        assert.ok(r.headers['retry-after'], '503 without Retry-After');
        stats.unavailable++;
        lastRefusal = JSON.stringify(r.body);
        await sleep(Math.min(1000, Number(r.headers['retry-after']) * 1000));
      }
    }

    let next = 0;
    const senders = Array.from({ length: SENDERS }, async () => {
      while (next < BATCHES) {
        const b = next++;
        const due = started + (b * SEND_WINDOW_MS) / BATCHES;
        if (due > Date.now()) await sleep(due - Date.now());
        await sendBatch(b);
      }
    });

    const chaos = (async () => {
      const at = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
      await sleep(8_000);
      await ingest.crash();
      stats.faults.push(`${at()} SIGKILL ingest #1`);
      ingest = await startIngest();
      await sleep(9_000);
      stats.faults.push(`${at()} kafka restart begins`);
      await run('bash', [join(REPO, 'tests/infra/kafka.sh'), 'restart'], { timeout: 120_000 });
      stats.faults.push(`${at()} kafka restart done`);
      await sleep(6_000);
      await ingest.crash();
      stats.faults.push(`${at()} SIGKILL ingest #2`);
      ingest = await startIngest();
    })();

    await Promise.all([...senders, chaos]);
    sending = false;
    const sentIn = Date.now() - started;
    assert.equal(acknowledged.size, TOTAL_EVENTS, 'every batch was eventually acknowledged with distinct ids');

    await waitFor(
      `all ${TOTAL_EVENTS} acknowledged events persisted`,
      async () => {
        const n = await persistedCount();
        return n >= TOTAL_EVENTS && (await feedbackDrained()) ? n : false;
      },
      120_000,
      500,
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n--- ingest log ---\n${ingest.logTail(40)}`);
    });

    const rows = await sql.query<{ id: string }>('SELECT id FROM feedback_events');
    const persisted = new Set(rows.rows.map((r) => r.id));
    assert.equal(rows.rows.length, persisted.size, 'no id stored twice');
    const missing = [...acknowledged].filter((id) => !persisted.has(id));
    const unexpected = [...persisted].filter((id) => !acknowledged.has(id));
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} acknowledged events were lost`);
    assert.deepEqual(unexpected.slice(0, 5), [], `${unexpected.length} persisted events were never acknowledged`);
    assert.equal(persisted.size, TOTAL_EVENTS);

    // The faults really happened while events were being sent.
    assert.equal(stats.faults.length, 4, stats.faults.join(', '));
    assert.equal(ingestStarts, 3);
    process.stdout.write(
      `# no-loss: ${TOTAL_EVENTS} events in ${BATCHES} batches, sent in ${(sentIn / 1000).toFixed(1)} s, ` +
        `${stats.requests} requests, ${stats.unavailable} x 503, ${stats.networkErrors} network errors; faults: ${stats.faults.join(', ')}; ` +
        `drained at ${((Date.now() - started) / 1000).toFixed(1)} s; sending=${sending}\n`,
    );
  });

  it('a replayed batch (same client event ids) returns the same ids and changes nothing', async () => {
    const before = await persistedCount();
    const r = await http.post('/v1/feedback/batch', batchBody(7));
    assert.equal(r.status, 202);
    assert.deepEqual((r.body as { event_ids: string[] }).event_ids, batchIds.get(7));
    await waitFor('replay consumed', feedbackDrained, 60_000, 200);
    assert.equal(await persistedCount(), before);
    // the stored row is the first delivery's, field for field
    const j = [0, 1, 2, 3].find((k) => (7 * BATCH_SIZE + k) % 4 === 1)!; // feedbackBody: i % 4 === 1 is a rating
    const i = 7 * BATCH_SIZE + j;
    const values = await sql.query<{ type: string; value: number | null }>('SELECT type, value FROM feedback_events WHERE id = $1', [batchIds.get(7)![j]]);
    assert.deepEqual(values.rows, [{ type: 'rating', value: 1 + (i % 5) }]);
  });

  it('malformed events go to the DLQ with a reason and the partition moves on', async () => {
    const key = completionIds[0]!; // same partition as the valid event sent after them
    const notJson = '{"v":1,"eventId":"broken';
    const badRating = JSON.stringify({
      v: 1, eventId: `${prefix}bad-rating`, completionId: key, type: 'rating', value: 9, userId: null, apiKeyId: null, createdAt: new Date().toISOString(),
    });
    await bus.publishRaw(Topic.feedback, key, notJson);
    await bus.publishRaw(Topic.feedback, key, badRating);
    const after = await http.post('/v1/feedback', { completion_id: key, type: 'thumbs', value: 'up', event_id: 'after-dlq' });
    assert.equal(after.status, 202);
    const afterId = (after.body as { event_ids: string[] }).event_ids[0]!;
    await waitFor('event after the malformed ones persisted', async () => (await sql.query('SELECT 1 FROM feedback_events WHERE id = $1', [afterId])).rowCount === 1, 60_000, 200);
    assert.equal((await sql.query('SELECT 1 FROM feedback_events WHERE id = $1', [`${prefix}bad-rating`])).rowCount, 0);

    const letters: DeadLetter[] = [];
    const sub = await bus.subscribeDeadLetters({
      topic: Topic.feedback,
      groupId: `${prefix}dlq-reader`,
      handleBatch: async (batch) => {
        letters.push(...batch.map((m) => m.letter));
      },
    });
    try {
      await waitFor('two dead letters', () => letters.length >= 2, 60_000, 200);
    } finally {
      await sub.stop();
    }
    const byRaw = new Map(letters.map((l) => [l.raw, l]));
    assert.ok(byRaw.has(notJson), `the non-JSON event is not in the DLQ: ${JSON.stringify(letters)}`);
    assert.match(byRaw.get(notJson)!.reason, /\S/, 'a dead letter carries its reason');
    assert.match(byRaw.get(badRating)?.reason ?? '', /value/, 'the reason names the offending field');
    assert.equal(byRaw.get(badRating)!.key, key);
  });
});
