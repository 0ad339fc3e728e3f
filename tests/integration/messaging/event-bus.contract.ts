// The EventBus contract (src/platform/messaging/event-bus.ts), defined once and run
// unchanged against every adapter: kafka.test.ts (a real broker) and embedded.test.ts
// (the database log on SQLite and on PostgreSQL). Each test uses its own topic prefix
// and consumer groups, so tests never see each other's events.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { InvalidEventError } from '../../../src/platform/messaging/delivery.js';
import {
  RetriableHandlerError,
  type BusMessage,
  type DeadLetterMessage,
  type DeadLetterReader,
  type EventBus,
  type Subscription,
} from '../../../src/platform/messaging/event-bus.js';
import { Topic, type EventInput } from '../../../src/platform/messaging/events.js';
import { uniquePrefix, waitFor } from '../support/services.js';
import { SINK_TABLE_SQL, type ChildBusConfig, type ChildConfig } from './child-config.js';

export type TestBus = EventBus & DeadLetterReader;

export interface BusHarness {
  /** a started bus on the shared backing store, isolated by `topicPrefix` (use it as given) */
  createBus(topicPrefix: string): Promise<TestBus>;
  /** how consumer-child.ts reaches the same backing store */
  childBus(): ChildBusConfig;
  /** consumer-group change after a crash takes this long at most (Kafka: session timeout) */
  crashRecoveryMs: number;
  /** remove what the buses with this prefix left behind (Kafka topics) */
  cleanup?(topicPrefix: string): Promise<void>;
}

type Feedback = EventInput<typeof Topic.feedback>;

export function thumbs(eventId: string, value: 1 | -1 = 1): Feedback {
  return {
    v: 1,
    eventId,
    completionId: `cmpl-${eventId}`,
    type: 'thumbs',
    value,
    userId: 'u1',
    apiKeyId: null,
    createdAt: new Date().toISOString(),
  };
}

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'consumer-child.js');

/** Collects what a subscription handled, by event id, in arrival order. */
class Collector {
  readonly ids: string[] = [];
  readonly messages: BusMessage<typeof Topic.feedback>[] = [];
  handle = async (batch: BusMessage<typeof Topic.feedback>[]) => {
    for (const m of batch) {
      this.ids.push(m.value.eventId);
      this.messages.push(m);
    }
  };
}

async function readDeadLetters(bus: TestBus, count: number, timeoutMs = 30_000): Promise<DeadLetterMessage[]> {
  const letters: DeadLetterMessage[] = [];
  const sub = await bus.subscribeDeadLetters({
    topic: Topic.feedback,
    groupId: uniquePrefix('dlqreader'),
    handleBatch: async (batch) => void letters.push(...batch),
  });
  try {
    await waitFor(`${count} dead letters`, () => letters.length >= count, timeoutMs);
    return letters;
  } finally {
    await sub.stop();
  }
}

export function eventBusContract(tag: string, harness: () => BusHarness): void {
  describe(`${tag} EventBus contract`, () => {
    const buses: TestBus[] = [];
    const subs: Subscription[] = [];
    const prefixes: string[] = [];
    let h: BusHarness;

    before(() => {
      h = harness();
    });

    after(async () => {
      for (const s of subs) await s.stop();
      for (const b of buses) await b.close();
      for (const p of new Set(prefixes)) await h.cleanup?.(p);
    });

    async function bus(prefix: string): Promise<TestBus> {
      prefixes.push(`${prefix}.`);
      const b = await h.createBus(`${prefix}.`);
      buses.push(b);
      return b;
    }

    it(`${tag} delivers published events once each, validated, in order per key`, async () => {
      const prefix = uniquePrefix('order');
      const b = await bus(prefix);
      assert.equal(await b.isReady(), true);
      const got = new Collector();
      subs.push(await b.subscribe({ topic: Topic.feedback, groupId: 'g', handleBatch: got.handle }));
      const ids = Array.from({ length: 60 }, (_, i) => `e${i}`);
      // three keys: the order is guaranteed per key (one partition per key)
      await b.publish(Topic.feedback, ids.map((id, i) => ({ key: `k${i % 3}`, value: thumbs(id) })));
      await waitFor('60 events', () => got.ids.length >= 60, 30_000);
      assert.deepEqual([...got.ids].sort(), [...ids].sort());
      for (let k = 0; k < 3; k++) {
        const expected = ids.filter((_, i) => i % 3 === k);
        assert.deepEqual(got.messages.filter((m) => m.key === `k${k}`).map((m) => m.value.eventId), expected, `order of key k${k}`);
      }
      // the schema's defaults are applied on the way: what the consumer sees is parsed
      assert.equal(got.messages[0]!.value.otherCompletionId, null);
      assert.equal(got.messages[0]!.topic, Topic.feedback);
    });

    it(`${tag} concurrent publishes while a subscriber runs: all acknowledged, all delivered once`, async () => {
      // the embedded/SQLite adapter shares one connection: interleaved transactions
      // used to fail with "Transaction is not started yet" (see sqlite-serializer.ts)
      const prefix = uniquePrefix('concurrent');
      const b = await bus(prefix);
      const got = new Collector();
      subs.push(await b.subscribe({ topic: Topic.feedback, groupId: 'g', handleBatch: got.handle }));
      const ids = Array.from({ length: 400 }, (_, i) => `c${i}`);
      await Promise.all(
        Array.from({ length: 40 }, (_, j) => b.publish(Topic.feedback, ids.slice(j * 10, j * 10 + 10).map((id) => ({ key: `k${j % 4}`, value: thumbs(id) })))),
      );
      await waitFor('400 events', () => got.ids.length >= 400, 30_000);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(got.ids.length, 400, 'no duplicates');
      assert.deepEqual([...got.ids].sort(), [...ids].sort());
    });

    it(`${tag} publish of an invalid event throws, naming the field, and publishes nothing`, async () => {
      const prefix = uniquePrefix('invalid');
      const b = await bus(prefix);
      const bad = { ...thumbs('bad'), value: 7 };
      await assert.rejects(b.publish(Topic.feedback, [{ key: 'k', value: thumbs('fine') }, { key: 'k', value: bad }]), (err: unknown) => {
        assert.ok(err instanceof InvalidEventError, `got ${String(err)}`);
        assert.equal(err.retriable, false);
        assert.match(err.message, /records\[1\]/);
        assert.match(err.message, /value: thumbs value must be 1 \(up\) or -1 \(down\)/);
        return true;
      });
      await assert.rejects(
        b.publish(Topic.feedback, [{ key: 'k', value: { ...thumbs('x'), createdAt: 'yesterday' } }]),
        /createdAt/,
      );
      // nothing of the rejected call reached the log: a consumer sees only the marker published after it
      const got = new Collector();
      subs.push(await b.subscribe({ topic: Topic.feedback, groupId: 'g', handleBatch: got.handle }));
      await b.publish(Topic.feedback, [{ key: 'k', value: thumbs('marker') }]);
      await waitFor('the marker', () => got.ids.includes('marker'));
      assert.deepEqual(got.ids, ['marker']);
    });

    it(`${tag} malformed events go to the DLQ with the reason; the events behind them are consumed`, async () => {
      const prefix = uniquePrefix('dlq');
      const b = await bus(prefix);
      const got = new Collector();
      subs.push(await b.subscribe({ topic: Topic.feedback, groupId: 'g', handleBatch: got.handle }));
      // one key = one partition: the valid events sit behind the bad ones
      await b.publish(Topic.feedback, [{ key: 'same', value: thumbs('before') }]);
      await b.publishRaw(Topic.feedback, 'same', '{"not json');
      await b.publishRaw(Topic.feedback, 'same', JSON.stringify({ ...thumbs('schema-bad'), value: 3 }));
      await b.publish(Topic.feedback, [{ key: 'same', value: thumbs('after1') }, { key: 'same', value: thumbs('after2') }]);
      await waitFor('the events behind the bad ones', () => got.ids.length >= 3, 30_000);
      assert.deepEqual(got.ids, ['before', 'after1', 'after2']);

      const letters = await readDeadLetters(b, 2);
      assert.equal(letters.length, 2);
      const [json, schema] = letters.map((l) => l.letter);
      assert.equal(json!.sourceTopic, Topic.feedback);
      assert.equal(json!.raw, '{"not json');
      assert.match(json!.reason, /invalid JSON/);
      assert.equal(json!.key, 'same');
      assert.match(schema!.reason, /schema violation: value: thumbs value must be/);
      assert.equal(JSON.parse(schema!.raw).eventId, 'schema-bad');
      assert.ok(schema!.offset !== null && json!.offset !== null && BigInt(schema!.offset) > BigInt(json!.offset), 'letters keep the source offsets');
    });

    it(`${tag} a retriable handler error is retried with backoff and then succeeds without loss`, async () => {
      const prefix = uniquePrefix('retry');
      const b = await bus(prefix);
      let attempts = 0;
      const seen = new Set<string>();
      const attemptTimes: number[] = [];
      subs.push(
        await b.subscribe({
          topic: Topic.feedback,
          groupId: 'g',
          handleBatch: async (batch) => {
            attempts++;
            attemptTimes.push(Date.now());
            if (attempts <= 3) throw new RetriableHandlerError(`database down (test), attempt ${attempts}`);
            for (const m of batch) seen.add(m.value.eventId);
          },
        }),
      );
      const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
      await b.publish(Topic.feedback, ids.map((id) => ({ key: 'one', value: thumbs(id) })));
      await waitFor('all 20 after the retries', () => seen.size >= 20, 30_000);
      assert.deepEqual([...seen].sort(), [...ids].sort());
      assert.ok(attempts >= 4, `retried: ${attempts} attempts`);
      // backoff, not a hot loop: the three failures were spread out
      assert.ok(attemptTimes[3]! - attemptTimes[0]! >= 30, `waited ${attemptTimes[3]! - attemptTimes[0]!} ms across 3 retries`);
    });

    it(`${tag} messages the handler rejects are dead-lettered and the partition moves on`, async () => {
      const prefix = uniquePrefix('reject');
      const b = await bus(prefix);
      const handled: string[] = [];
      subs.push(
        await b.subscribe({
          topic: Topic.feedback,
          groupId: 'g',
          handleBatch: async (batch) => {
            const rejected = [];
            for (const m of batch) {
              if (m.value.eventId === 'poison') rejected.push({ partition: m.partition, offset: m.offset, reason: 'unknown completion' });
              else handled.push(m.value.eventId);
            }
            return { rejected };
          },
        }),
      );
      await b.publish(Topic.feedback, ['a', 'poison', 'b'].map((id) => ({ key: 'one', value: thumbs(id) })));
      await waitFor('a and b', () => handled.includes('a') && handled.includes('b'));
      const letters = await readDeadLetters(b, 1);
      assert.equal(letters[0]!.letter.reason, 'rejected by handler: unknown completion');
      assert.equal(JSON.parse(letters[0]!.letter.raw).eventId, 'poison');
      assert.deepEqual(handled, ['a', 'b']);
    });

    it(`${tag} a consumer group resumes from its committed offset after stop and a new bus instance`, async () => {
      const prefix = uniquePrefix('resume');
      const first = await bus(prefix);
      const got1 = new Collector();
      const sub1 = await first.subscribe({ topic: Topic.feedback, groupId: 'g', handleBatch: got1.handle });
      await first.publish(Topic.feedback, ['x1', 'x2', 'x3'].map((id) => ({ key: 'k', value: thumbs(id) })));
      await waitFor('first three', () => got1.ids.length >= 3);
      await sub1.stop(); // commits
      await first.publish(Topic.feedback, ['y1', 'y2'].map((id) => ({ key: 'k', value: thumbs(id) })));
      await first.close();
      assert.equal(await first.isReady(), false, 'a closed bus is not ready');

      const second = await bus(prefix);
      const got2 = new Collector();
      subs.push(await second.subscribe({ topic: Topic.feedback, groupId: 'g', handleBatch: got2.handle }));
      await waitFor('the two published while no one consumed', () => got2.ids.length >= 2, 30_000);
      await new Promise((r) => setTimeout(r, 300)); // anything redelivered would show up now
      assert.deepEqual(got2.ids, ['y1', 'y2']);
    });

    it(`${tag} 10,000 events, consumer process SIGKILLed and restarted mid-stream: every event persisted exactly once`, { timeout: 240_000 }, async () => {
      const TOTAL = 10_000;
      const prefix = uniquePrefix('crash');
      const producer = await bus(prefix);
      const dir = mkdtempSync(join(tmpdir(), 'outerloop-bus-crash-'));
      const sinkPath = join(dir, 'sink.sqlite');
      const sink = new Database(sinkPath, { timeout: 10_000 });
      sink.pragma('journal_mode = WAL');
      sink.exec(SINK_TABLE_SQL);
      const handledCount = () => (sink.prepare('SELECT COUNT(*) AS n FROM handled').get() as { n: number }).n;

      const config: ChildConfig = { bus: h.childBus(), topicPrefix: `${prefix}.`, groupId: 'crash-group', sinkPath, maxBatchSize: 100 };
      const children: ChildProcess[] = [];
      const startChild = async (): Promise<ChildProcess> => {
        const child = spawn(process.execPath, [CHILD], {
          env: { ...process.env, OUTERLOOP_TEST_CHILD: JSON.stringify(config), OUTERLOOP_LOG_LEVEL: 'warn', OUTERLOOP_LOG_FORMAT: 'json' },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        children.push(child);
        let out = '';
        child.stdout!.setEncoding('utf8');
        const ready = new Promise<void>((resolve, reject) => {
          child.stdout!.on('data', (chunk: string) => {
            out += chunk;
            if (out.includes('READY')) resolve();
          });
          child.once('exit', (code, signal) => reject(new Error(`consumer child exited before READY (code ${code}, signal ${signal}): ${out}`)));
        });
        await ready;
        return child;
      };
      const kill = async (child: ChildProcess) => {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        const [code, signal] = (await exited) as [number | null, string | null];
        assert.equal(signal, 'SIGKILL', `child died of SIGKILL (code ${code})`);
      };

      try {
        const ids = Array.from({ length: TOTAL }, (_, i) => `evt-${String(i).padStart(5, '0')}`);
        let produced = 0;
        const produce = async (upTo: number) => {
          for (; produced < upTo; produced += 250) {
            const slice = ids.slice(produced, Math.min(upTo, produced + 250));
            await producer.publish(Topic.feedback, slice.map((id, j) => ({ key: `conv-${(produced + j) % 16}`, value: thumbs(id) })));
          }
          produced = upTo;
        };

        let child = await startChild();
        await produce(4000);
        // kill it while it is consuming, not before or after
        const atFirstKill = await waitFor('the first consumer to be mid-stream', () => {
          const n = handledCount();
          return n >= 500 ? n : 0;
        }, h.crashRecoveryMs + 60_000, 5);
        await kill(child);
        const afterFirstKill = handledCount();
        assert.ok(afterFirstKill < TOTAL, 'killed mid-stream');

        // events produced while no consumer runs must wait in the log
        await produce(7000);
        child = await startChild();
        await produce(TOTAL);
        const atSecondKill = await waitFor('the second consumer to make progress', () => {
          const n = handledCount();
          return n > afterFirstKill + 500 ? n : 0;
        }, h.crashRecoveryMs + 60_000, 5);
        await kill(child);

        child = await startChild();
        await waitFor(`all ${TOTAL} events in the sink`, () => handledCount() >= TOTAL, h.crashRecoveryMs + 120_000, 100);
        await new Promise((r) => setTimeout(r, 500)); // a late duplicate would be counted now

        const rows = sink.prepare('SELECT event_id AS id, deliveries FROM handled ORDER BY event_id').all() as Array<{ id: string; deliveries: number }>;
        assert.equal(rows.length, TOTAL, 'every event persisted, none lost, no stray ids');
        assert.deepEqual(rows.map((r) => r.id), ids, 'exactly the produced ids');
        const deliveries = rows.reduce((s, r) => s + r.deliveries, 0);
        const redelivered = rows.filter((r) => r.deliveries > 1).length;
        // at-least-once: redelivery after a crash is allowed (the upsert absorbs it), but
        // only of what was in flight — not a replay of the whole stream
        assert.ok(deliveries - TOTAL < 2 * 1000, `redeliveries bounded by the in-flight batches: ${deliveries - TOTAL}`);
        process.stderr.write(
          `${tag} crash test: killed at ${atFirstKill}/${TOTAL} and ${atSecondKill}/${TOTAL} handled; ` +
            `${redelivered} events were redelivered after the kills (${deliveries - TOTAL} extra deliveries), all absorbed by the idempotent sink\n`,
        );
      } finally {
        for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
        sink.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
