// The ingest repository's Postgres path (one `unnest` INSERT per batch) against a
// real PostgreSQL: every column round-trips as TypeORM reads it, duplicates are
// counted, and a batch larger than one statement lands in one transaction.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '../../../src/platform/persistence/data-source.js';
import { CompletionEntity, FeedbackEventEntity } from '../../../src/platform/persistence/entities/index.js';
import { validateEvent, Topic, type CompletionEvent, type FeedbackEvent } from '../../../src/platform/messaging/events.js';
import { IngestRepository } from '../../../src/services/ingest/ingest.repository.js';
import { createRepositories } from '../../../src/platform/persistence/repositories/index.js';
import { createTestDatabase, requirePostgres } from '../support/services.js';
import { completionEvent } from './harness.js';

function ingestRepositoryOn(ds: DataSource): IngestRepository {
  const { completions, feedback } = createRepositories(ds);
  return new IngestRepository(completions, feedback);
}

const postgres = await requirePostgres();

function valid<T extends typeof Topic.completions | typeof Topic.feedback>(topic: T, v: unknown) {
  const r = validateEvent(topic, v);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

describe('[postgres] ingest repository: batch upserts', { skip: postgres.skip, timeout: 120_000 }, () => {
  let db: { url: string; drop(): Promise<void> };
  let ds: DataSource;
  before(async () => {
    db = await createTestDatabase(postgres.info!, 'ingestrepo');
    ds = createDataSource({ type: 'postgres', url: db.url });
    await ds.initialize();
    await runMigrations(ds);
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('writes every column as TypeORM reads it back, and counts duplicates', async () => {
    const repo = ingestRepositoryOn(ds);
    const c = valid(Topic.completions, { ...completionEvent('pg-c1', 'key-1'), sampling: { temperature: 0.5, topP: 0.9, maxTokens: 32, seed: 7, stop: ['\n\n'] }, shadow: true }) as CompletionEvent;
    const ingestedAt = new Date('2026-02-03T04:05:06.789Z');
    assert.deepEqual(await repo.insertCompletions([c, c], ingestedAt), { inserted: 1, duplicates: 1 });
    const stored = await ds.getRepository(CompletionEntity).findOneByOrFail({ id: 'pg-c1' });
    assert.deepEqual(stored.sampling, c.sampling);
    assert.deepEqual(stored.messages, c.messages);
    assert.equal(stored.shadow, true);
    assert.equal(stored.promptTokens, c.promptTokens);
    assert.equal(stored.apiKeyId, 'key-1');
    assert.equal(stored.createdAt.toISOString(), c.createdAt);
    assert.equal(stored.ingestedAt.toISOString(), ingestedAt.toISOString());

    const f = valid(Topic.feedback, {
      v: 1, eventId: 'pg-f1', completionId: 'pg-c1', type: 'pairwise', value: -1, otherCompletionId: 'pg-c2',
      comment: 'ünïcode, "quotes", {braces}', userId: 'u1', apiKeyId: 'key-1', createdAt: '2026-02-03T00:00:00.123Z',
    }) as FeedbackEvent;
    const e = valid(Topic.feedback, {
      v: 1, eventId: 'pg-f2', completionId: 'pg-c1', type: 'edit', value: null, editedResponse: 'line1\nline2 NULL', userId: null, apiKeyId: null, createdAt: '2026-02-03T00:00:01Z',
    }) as FeedbackEvent;
    assert.deepEqual(await repo.insertFeedback([f, e, f]), { inserted: 2, duplicates: 1 });
    assert.deepEqual(await repo.insertFeedback([f]), { inserted: 0, duplicates: 1 });
    const rows = await ds.getRepository(FeedbackEventEntity).find({ where: { completionId: 'pg-c1' }, order: { id: 'ASC' } });
    assert.deepEqual(
      rows.map((r) => [r.id, r.type, r.value, r.otherCompletionId, r.editedResponse, r.comment, r.userId, r.createdAt.toISOString()]),
      [
        ['pg-f1', 'pairwise', -1, 'pg-c2', null, 'ünïcode, "quotes", {braces}', 'u1', '2026-02-03T00:00:00.123Z'],
        ['pg-f2', 'edit', null, null, 'line1\nline2 NULL', null, null, '2026-02-03T00:00:01.000Z'],
      ],
    );
  });

  it('a batch above one statement is all written; a foreign-key failure writes none of it', async () => {
    const repo = ingestRepositoryOn(ds);
    await repo.insertCompletions([valid(Topic.completions, completionEvent('pg-bulk')) as CompletionEvent]);
    const events = Array.from({ length: 12_000 }, (_, i) =>
      valid(Topic.feedback, { v: 1, eventId: `bulk-${i}`, completionId: 'pg-bulk', type: 'rating', value: 1 + (i % 5), userId: null, apiKeyId: null, createdAt: new Date().toISOString() }) as FeedbackEvent,
    );
    assert.deepEqual(await repo.insertFeedback(events), { inserted: 12_000, duplicates: 0 });
    assert.equal(await ds.getRepository(FeedbackEventEntity).countBy({ completionId: 'pg-bulk' }), 12_000);

    const orphanLast = [
      ...Array.from({ length: 6000 }, (_, i) => ({ ...events[0]!, eventId: `tx-${i}` })),
      { ...events[0]!, eventId: 'tx-orphan', completionId: 'no-such-completion' },
    ];
    await assert.rejects(repo.insertFeedback(orphanLast), /foreign key/);
    assert.equal(await ds.getRepository(FeedbackEventEntity).countBy({ id: 'tx-0' }), 0, 'the first statement was rolled back');
  });
});
