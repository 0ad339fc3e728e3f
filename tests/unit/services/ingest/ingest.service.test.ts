// The ingest service wired to the embedded (database-log) bus on SQLite, as in the
// default `npm start`: completions and feedback published on the bus end up in
// their tables, once, and a feedback event for a completion that never arrives is
// dead-lettered with its reason after the grace period.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createDataSource, runMigrations } from '../../../../src/platform/persistence/data-source.js';
import { EmbeddedEventBus } from '../../../../src/platform/messaging/embedded/embedded-event-bus.js';
import { CompletionEntity, FeedbackEventEntity } from '../../../../src/platform/persistence/entities/index.js';
import { Topic, EVENT_VERSION, type DeadLetter } from '../../../../src/platform/messaging/events.js';
import { IngestService, DEFAULT_INGEST_OPTIONS } from '../../../../src/services/ingest/ingest.service.js';
import { createRepositories } from '../../../../src/platform/persistence/repositories/index.js';
import { eventually } from '../../../support/eventually.js';


test('embedded bus → ingest → SQLite: persisted once; orphans dead-lettered with a reason', async () => {
  const ds = createDataSource({ type: 'better-sqlite3', path: ':memory:' });
  await ds.initialize();
  await runMigrations(ds);
  const bus = new EmbeddedEventBus(ds, { pollIntervalMs: 10 });
  await bus.start();
  const registry = new Registry();
  const ingest = new IngestService(bus, createRepositories(ds), registry, { ...DEFAULT_INGEST_OPTIONS, completionGraceMs: 300 });
  try {
    await ingest.start();
    const createdAt = new Date().toISOString();
    const completion = {
      v: EVENT_VERSION, eventId: 'c1', completionId: 'c1', conversationId: 'conv', messages: [{ role: 'user' as const, content: 'hi' }], response: 'hello',
      modelVersion: 'base', sampling: { temperature: 1, topP: 1, maxTokens: 8, seed: null, stop: [] }, promptTokens: 1, completionTokens: 1,
      finishReason: 'stop' as const, ttftMs: 1, latencyMs: 2, userId: null, apiKeyId: null, createdAt,
    };
    const feedback = (eventId: string, completionId: string) => ({
      key: completionId,
      value: { v: EVENT_VERSION, eventId, completionId, type: 'thumbs' as const, value: 1, userId: null, apiKeyId: null, createdAt },
    });
    // feedback first: it must wait for its completion, not be lost or dead-lettered
    await bus.publish(Topic.feedback, [feedback('f1', 'c1'), feedback('f1', 'c1')]);
    await new Promise((r) => setTimeout(r, 100));
    await bus.publish(Topic.completions, [{ key: 'conv', value: completion }, { key: 'conv', value: completion }]);
    await bus.publish(Topic.feedback, [feedback('orphan', 'never-served'), feedback('f2', 'c1')]);

    await eventually('f1 and f2 persisted', async () => (await ds.getRepository(FeedbackEventEntity).countBy({ completionId: 'c1' })) === 2);
    assert.equal(await ds.getRepository(CompletionEntity).count(), 1);

    const letters: DeadLetter[] = [];
    const sub = await bus.subscribeDeadLetters({ topic: Topic.feedback, groupId: 'test-dlq', handleBatch: async (b) => void letters.push(...b.map((m) => m.letter)) });
    await eventually('orphan dead-lettered', async () => letters.length >= 1);
    await sub.stop();
    assert.equal(letters.length, 1);
    assert.match(letters[0]!.reason, /unknown completion: completionId 'never-served'/);
    assert.equal(JSON.parse(letters[0]!.raw).eventId, 'orphan');
    assert.equal(await ds.getRepository(FeedbackEventEntity).countBy({ id: 'orphan' }), 0);
    assert.match(await registry.getSingleMetricAsString('outerloop_ingest_dlq_total'), /reason="unknown_completion"} 1/);
  } finally {
    await ingest.stop();
    await bus.close();
    await ds.destroy();
  }
});
