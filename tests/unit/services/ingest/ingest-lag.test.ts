// outerloop_ingest_lag_seconds is computed at scrape time from the oldest event a
// consumer was handed and has not settled: it keeps growing while a batch is being
// retried (the database is down) — when its alert must fire — and drops to 0 once
// the batch is saved.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type { BusMessage } from '../../../../src/platform/messaging/event-bus.js';
import { Topic } from '../../../../src/platform/messaging/events.js';
import { IngestMetrics } from '../../../../src/services/ingest/ingest.metrics.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function completion(offset: number, createdAtMs: number, partition = 0): BusMessage<typeof Topic.completions> {
  return { topic: Topic.completions, key: 'k', partition, offset: String(offset), value: { createdAt: new Date(createdAtMs).toISOString() } as never };
}

async function lagOf(registry: Registry, topic: string): Promise<number | undefined> {
  const m = await registry.getSingleMetric('outerloop_ingest_lag_seconds')!.get();
  return m.values.find((v) => v.labels.topic === topic)?.value;
}

test('lag is 0 once subscribed and caught up, grows while a batch keeps failing, and drops when it is saved', async () => {
  let now = T0;
  const registry = new Registry();
  const metrics = new IngestMetrics(registry, () => now);
  let databaseUp = false;
  const handler = metrics.lag.track(
    Topic.completions,
    async () => {
      if (!databaseUp) throw new Error('database down');
      return {};
    },
    (m) => m.value.createdAt,
  );
  assert.equal(await lagOf(registry, Topic.completions), 0);

  const batch = [completion(1, T0 - 2_000), completion(2, T0 - 1_000)];
  now = T0 + 1_000;
  await assert.rejects(handler(batch));
  assert.equal(await lagOf(registry, Topic.completions), 3);
  // no batch saved in between: the gauge still moves with the clock
  now = T0 + 40_000;
  assert.equal(await lagOf(registry, Topic.completions), 42);
  // the bus retries the same batch with backoff (at most 10 s apart)
  for (now = T0 + 50_000; now < T0 + 300_000; now += 10_000) await assert.rejects(handler(batch));
  assert.equal(await lagOf(registry, Topic.completions), 302);

  databaseUp = true;
  await handler(batch);
  assert.equal(await lagOf(registry, Topic.completions), 0);
});

test('a batch whose partition went elsewhere stops counting after a minute without a retry', async () => {
  let now = T0;
  const registry = new Registry();
  const metrics = new IngestMetrics(registry, () => now);
  const handler = metrics.lag.track(Topic.completions, async () => { throw new Error('database down'); }, (m) => m.value.createdAt);
  await assert.rejects(handler([completion(1, T0, 2)]));
  now = T0 + 30_000;
  assert.equal(await lagOf(registry, Topic.completions), 30);
  now = T0 + 61_000;
  assert.equal(await lagOf(registry, Topic.completions), 0);
});

test('a batch in flight counts however long the handler takes', async () => {
  let now = T0;
  const registry = new Registry();
  const metrics = new IngestMetrics(registry, () => now);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const handler = metrics.lag.track(Topic.completions, async () => { await gate; return {}; }, (m) => m.value.createdAt);
  const pending = handler([completion(1, T0)]);
  now = T0 + 120_000;
  assert.equal(await lagOf(registry, Topic.completions), 120);
  release();
  await pending;
  assert.equal(await lagOf(registry, Topic.completions), 0);
});
