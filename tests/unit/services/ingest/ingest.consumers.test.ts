// The ingest handlers against a real (SQLite, in-memory) database with the real
// migrations: idempotent upserts, the completion grace period, retriable errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '../../../../src/platform/persistence/data-source.js';
import { CompletionEntity, FeedbackEventEntity } from '../../../../src/platform/persistence/entities/index.js';
import { RetriableHandlerError, type BusMessage } from '../../../../src/platform/messaging/event-bus.js';
import { Topic, validateEvent, type CompletionEvent, type FeedbackEvent } from '../../../../src/platform/messaging/events.js';
import { CompletionsConsumer, FeedbackConsumer } from '../../../../src/services/ingest/ingest.consumers.js';
import { IngestMetrics } from '../../../../src/services/ingest/ingest.metrics.js';
import { IngestRepository } from '../../../../src/services/ingest/ingest.repository.js';
import { createRepositories } from '../../../../src/platform/persistence/repositories/index.js';

function ingestRepositoryOn(ds: DataSource): IngestRepository {
  const { completions, feedback } = createRepositories(ds);
  return new IngestRepository(completions, feedback);
}

let ds: DataSource;
before(async () => {
  ds = createDataSource({ type: 'better-sqlite3', path: ':memory:' });
  await ds.initialize();
  await runMigrations(ds);
});
after(() => ds.destroy());

let offset = 0;
function message<T extends typeof Topic.completions | typeof Topic.feedback>(topic: T, value: unknown): BusMessage<T> {
  const v = validateEvent(topic, value);
  if (!v.ok) throw new Error(`test fixture invalid: ${v.reason}`);
  return { topic, key: null, value: v.value, partition: 0, offset: String(offset++) };
}

function completion(id: string, apiKeyId = 'key-a'): BusMessage<typeof Topic.completions> {
  return message(Topic.completions, {
    v: 1,
    eventId: id,
    completionId: id,
    conversationId: `conv-${id}`,
    messages: [{ role: 'user', content: 'hi' }],
    response: 'hello',
    modelVersion: 'base',
    sampling: { temperature: 0.7, topP: 1, maxTokens: 64, seed: null, stop: [] },
    promptTokens: 3,
    completionTokens: 2,
    finishReason: 'stop',
    ttftMs: 5,
    latencyMs: 20,
    userId: null,
    apiKeyId,
    createdAt: '2026-01-01T00:00:00.000Z',
  } satisfies Partial<CompletionEvent> & Record<string, unknown>);
}

function feedback(eventId: string, completionId: string, value = 1): BusMessage<typeof Topic.feedback> {
  return message(Topic.feedback, {
    v: 1,
    eventId,
    completionId,
    type: 'thumbs',
    value,
    userId: null,
    apiKeyId: 'key-a',
    createdAt: '2026-01-01T00:00:01.000Z',
  } satisfies Partial<FeedbackEvent> & Record<string, unknown>);
}

function consumers(now: () => number = Date.now, graceMs = 10_000) {
  const repo = ingestRepositoryOn(ds);
  const registry = new Registry();
  const metrics = new IngestMetrics(registry);
  return {
    registry,
    completions: new CompletionsConsumer(repo, metrics),
    feedback: new FeedbackConsumer(repo, metrics, { completionGraceMs: graceMs, now }),
  };
}

async function feedbackRows(completionId: string) {
  return ds.getRepository(FeedbackEventEntity).find({ where: { completionId }, order: { id: 'ASC' } });
}

test('completions and feedback are persisted once, however often they are delivered', async () => {
  const c = consumers();
  await c.completions.handleBatch([completion('c1'), completion('c1')]);
  await c.completions.handleBatch([completion('c1')]);
  assert.equal(await ds.getRepository(CompletionEntity).countBy({ id: 'c1' }), 1);
  const stored = await ds.getRepository(CompletionEntity).findOneByOrFail({ id: 'c1' });
  assert.equal(stored.apiKeyId, 'key-a');
  assert.equal(stored.createdAt.toISOString(), '2026-01-01T00:00:00.000Z');

  const batch = [feedback('f1', 'c1'), feedback('f2', 'c1', -1), feedback('f1', 'c1')];
  const outcome = await c.feedback.handleBatch(batch);
  assert.deepEqual(outcome.rejected ?? [], []);
  await c.feedback.handleBatch(batch); // redelivery after a crash before the offset commit
  const rows = await feedbackRows('c1');
  assert.deepEqual(rows.map((r) => [r.id, r.value]), [['f1', 1], ['f2', -1]]);

  const text = await c.registry.getSingleMetricAsString('outerloop_ingest_events_total');
  assert.match(text, /topic="outerloop.feedback",outcome="inserted"} 2/);
  assert.match(text, /topic="outerloop.feedback",outcome="duplicate"} 4/);
});

test('many events in one batch are written (more than one INSERT statement)', async () => {
  const c = consumers();
  await c.completions.handleBatch([completion('bulk')]);
  const batch = Array.from({ length: 2500 }, (_, i) => feedback(`bulk-${i}`, 'bulk'));
  await c.feedback.handleBatch(batch);
  assert.equal(await ds.getRepository(FeedbackEventEntity).countBy({ completionId: 'bulk' }), 2500);
});

test('feedback whose completion is not ingested yet waits (retriable), the rest is written; it lands once the completion does', async () => {
  let now = 1_000_000;
  const c = consumers(() => now, 10_000);
  await c.completions.handleBatch([completion('c-early')]);
  const batch = [feedback('early', 'c-early'), feedback('late', 'c-late')];
  await assert.rejects(c.feedback.handleBatch(batch), (err: unknown) => err instanceof RetriableHandlerError && /wait for their completion/.test(err.message));
  assert.equal((await feedbackRows('c-early')).length, 1);
  assert.equal((await feedbackRows('c-late')).length, 0);
  assert.equal(c.feedback.pendingCount, 1);

  now += 5_000;
  await c.completions.handleBatch([completion('c-late')]);
  const outcome = await c.feedback.handleBatch(batch);
  assert.deepEqual(outcome.rejected ?? [], []);
  assert.equal((await feedbackRows('c-late')).length, 1);
  assert.equal(c.feedback.pendingCount, 0);
});

test('feedback still unmatched after the grace period is rejected with a reason; the batch moves on', async () => {
  let now = 2_000_000;
  const c = consumers(() => now, 10_000);
  await c.completions.handleBatch([completion('c-ok')]);
  const orphan = feedback('orphan', 'never-served');
  const batch = [feedback('fine', 'c-ok'), orphan];
  await assert.rejects(c.feedback.handleBatch(batch), RetriableHandlerError);
  now += 10_001;
  const outcome = await c.feedback.handleBatch(batch);
  assert.equal(outcome.rejected?.length, 1);
  assert.equal(outcome.rejected![0]!.offset, orphan.offset);
  assert.equal(outcome.rejected![0]!.partition, orphan.partition);
  assert.match(outcome.rejected![0]!.reason, /unknown completion: completionId 'never-served'/);
  assert.equal((await feedbackRows('c-ok')).length, 1);
  assert.equal((await feedbackRows('never-served')).length, 0);
  const dlq = await c.registry.getSingleMetricAsString('outerloop_ingest_dlq_total');
  assert.match(dlq, /reason="unknown_completion"} 1/);
});

test('a database failure is a RetriableHandlerError (the bus retries, nothing is dead-lettered)', async () => {
  const broken = createDataSource({ type: 'better-sqlite3', path: ':memory:' });
  await broken.initialize(); // no migrations: the tables do not exist
  try {
    const metrics = new IngestMetrics(new Registry());
    const repo = ingestRepositoryOn(broken);
    const consumer = new CompletionsConsumer(repo, metrics);
    await assert.rejects(consumer.handleBatch([completion('x')]), (err: unknown) => err instanceof RetriableHandlerError && err.retriable && /database write/.test(err.message));
    const fb = new FeedbackConsumer(repo, metrics, { completionGraceMs: 0 });
    await assert.rejects(fb.handleBatch([feedback('y', 'x')]), RetriableHandlerError);
  } finally {
    await broken.destroy();
  }
});
