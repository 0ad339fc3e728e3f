// DatasetService against a real database: run on SQLite by the unit suite
// (dataset-service.test.ts) and on PostgreSQL by tests/integration/persistence.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import type { ArtifactStore } from '../../../../../src/platform/artifacts/artifact-store.js';
import { runMigrations } from '../../../../../src/platform/persistence/data-source.js';
import { createRepositories } from '../../../../../src/platform/persistence/repositories/index.js';
import {
  CompletionEntity,
  DatasetSnapshotEntity,
  FeedbackEventEntity,
  PreferencePairEntity,
  UserFlagEntity,
} from '../../../../../src/platform/persistence/entities/index.js';
import { SnapshotIntegrityError } from '../../../../../src/domain/dataset/snapshot.js';
import { createSnapshot, DatasetService, readSnapshot } from '../../../../../src/services/ingest/dataset/dataset.service.js';

const T0 = Date.parse('2026-11-01T00:00:00.000Z');

function completionRow(id: string, prompt: string, response: string, modelVersion: string): CompletionEntity {
  return {
    id, conversationId: `conv-${id}`, comparisonId: null, messages: [{ role: 'user', content: prompt }], response, modelVersion,
    sampling: { temperature: 1, topP: 1, maxTokens: 64, seed: null, stop: [] }, promptTokens: 5, completionTokens: 5,
    finishReason: 'stop', ttftMs: 1, latencyMs: 2, userId: null, apiKeyId: null, shadow: false,
    createdAt: new Date(T0), ingestedAt: new Date(T0),
  };
}

let n = 0;
function feedbackRow(type: FeedbackEventEntity['type'], completionId: string, value: number | null, userId: string, over: Partial<FeedbackEventEntity> = {}): FeedbackEventEntity {
  n++;
  return {
    id: `fb-${String(n).padStart(5, '0')}`, completionId, type, value, otherCompletionId: null, editedResponse: null, comment: null,
    userId, apiKeyId: null, createdAt: new Date(T0 + n * 60_000), ingestedAt: new Date(T0 + n * 60_000), ...over,
  };
}

/**
 * 30 prompts × (good, bad) answers from two model versions; five honest users give
 * thumbs (good up, bad down), one pairwise choice per prompt, an edit on prompt 0,
 * and a contrarian who always votes the opposite way.
 */
async function seed(ds: DataSource): Promise<void> {
  const completions: CompletionEntity[] = [];
  const feedback: FeedbackEventEntity[] = [];
  for (let i = 0; i < 30; i++) {
    completions.push(completionRow(`g${i}`, `prompt ${i}`, `a good, complete answer ${i}`, 'v1'), completionRow(`b${i}`, `prompt ${i}`, `bad ${i}`, 'v2'));
    for (const u of ['h1', 'h2', 'h3', 'h4', 'h5']) feedback.push(feedbackRow('thumbs', `g${i}`, 1, u), feedbackRow('thumbs', `b${i}`, -1, u));
    feedback.push(feedbackRow('thumbs', `g${i}`, -1, 'troll'), feedbackRow('thumbs', `b${i}`, 1, 'troll'));
    feedback.push(feedbackRow('pairwise', `g${i}`, 1, 'h1', { otherCompletionId: `b${i}` }));
  }
  feedback.push(feedbackRow('pairwise', 'g1', 0, 'h2', { otherCompletionId: 'b1' })); // a tie
  feedback.push(feedbackRow('edit', 'b0', null, 'h3', { editedResponse: 'an edited, better answer 0' }));
  await ds.getRepository(CompletionEntity).insert(completions);
  for (let i = 0; i < feedback.length; i += 200) await ds.getRepository(FeedbackEventEntity).insert(feedback.slice(i, i + 200));
}

export function datasetServiceContract(label: string, open: () => Promise<{ ds: DataSource; store: ArtifactStore }>, close: (ds: DataSource) => Promise<void>): void {
  describe(`${label} dataset service`, () => {
    let ds: DataSource;
    let store: ArtifactStore;
    before(async () => {
      ({ ds, store } = await open());
      await runMigrations(ds);
      n = 0;
      await seed(ds);
    });
    after(async () => {
      if (ds) await close(ds);
    });

    it(`${label} derives and stores pairs with provenance, flags the contrarian, counts the tie`, async () => {
      const report = await new DatasetService(createRepositories(ds), store).refreshPreferencePairs();
      assert.deepEqual(report.newlyFlaggedLabellers.map((l) => l.labeller), ['user:troll']);
      assert.equal(report.flaggedEvents, 60);
      assert.equal(report.derivation.pairwiseTies, 1);
      assert.deepEqual(report.derivation.pairs, { pairwise: 30, thumbs: 30, edit: 1, rating: 0 });
      const flag = await ds.getRepository(UserFlagEntity).findOneByOrFail({ userId: 'user:troll' });
      assert.equal(flag.reason, 'majority-disagreement');
      assert.equal(flag.detail.comparisons, 60);
      const pairs = await ds.getRepository(PreferencePairEntity).find({ where: { source: 'thumbs' } });
      assert.equal(pairs.length, 30);
      assert.ok(pairs.every((p) => p.eventIds.length === 10 && p.conflictCount === 0), 'troll votes excluded, 5 ups + 5 downs each');
      const edit = await ds.getRepository(PreferencePairEntity).findOneByOrFail({ source: 'edit' });
      assert.equal(edit.chosenCompletionId, null);
      assert.equal(edit.rejectedCompletionId, 'b0');
    });

    it(`${label} re-deriving is idempotent and removes pairs that lost their support`, async () => {
      const svc = new DatasetService(createRepositories(ds), store);
      const before = (await ds.getRepository(PreferencePairEntity).find()).map((p) => p.id).sort();
      const again = await svc.refreshPreferencePairs();
      assert.equal(again.removedStalePairs, 0);
      assert.deepEqual((await ds.getRepository(PreferencePairEntity).find()).map((p) => p.id).sort(), before);
      // a new vote updates the stored pair it supports (only changed rows are rewritten)
      await ds.getRepository(FeedbackEventEntity).insert(feedbackRow('thumbs', 'g2', 1, 'h6'));
      await svc.refreshPreferencePairs();
      const updated = await ds.getRepository(PreferencePairEntity).findOneByOrFail({ source: 'thumbs', chosenCompletionId: 'g2' });
      assert.equal(updated.eventIds.length, 11);
      assert.ok(updated.eventIds.includes(`fb-${String(n).padStart(5, '0')}`));
      // the edit's author turns out to be a spammer flagged by hand: their pair goes
      await ds.getRepository(UserFlagEntity).insert({ userId: 'user:h3', reason: 'manual', detail: {}, flaggedAt: new Date() });
      const third = await svc.refreshPreferencePairs();
      assert.equal(await ds.getRepository(PreferencePairEntity).countBy({ source: 'edit' }), 0);
      assert.ok(third.removedStalePairs >= 1);
      await ds.getRepository(UserFlagEntity).delete({ userId: 'user:h3' });
    });

    it(`${label} createSnapshot writes content-addressed files and a row; the same inputs give the same snapshot`, async () => {
      const filters = { heldoutFraction: 0.3 };
      const first = await createSnapshot(createRepositories(ds), store, filters);
      assert.equal(first.created, true);
      assert.match(first.id, /^[0-9a-f]{64}$/);
      assert.equal(first.artifactPath, `snapshots/${first.id}`);
      assert.deepEqual(await store.list(first.artifactPath), [`snapshots/${first.id}/heldout.jsonl`, `snapshots/${first.id}/manifest.json`, `snapshots/${first.id}/train.jsonl`]);
      const bytes = await Promise.all(['train.jsonl', 'heldout.jsonl', 'manifest.json'].map((f) => store.get(`${first.artifactPath}/${f}`)));

      const second = await createSnapshot(createRepositories(ds), store, filters);
      assert.equal(second.id, first.id);
      assert.equal(second.created, false);
      const bytes2 = await Promise.all(['train.jsonl', 'heldout.jsonl', 'manifest.json'].map((f) => store.get(`${first.artifactPath}/${f}`)));
      assert.deepEqual(bytes2, bytes);

      const row = await ds.getRepository(DatasetSnapshotEntity).findOneByOrFail({ id: first.id });
      assert.equal(row.sha256, first.sha256);
      assert.equal(row.counts.total, first.manifest.counts.total);
      assert.equal(await ds.getRepository(DatasetSnapshotEntity).count(), 1);

      const svc = new DatasetService(createRepositories(ds), store);
      assert.equal((await svc.getSnapshot(first.id))?.artifactPath, first.artifactPath);
      assert.equal(await svc.getSnapshot('0'.repeat(64)), null);
      assert.deepEqual((await svc.listSnapshots()).map((r) => r.id), [first.id]);

      const loaded = await readSnapshot(store, first.id);
      assert.equal(loaded.train.length + loaded.heldout.length, first.manifest.counts.total);
      const trainPrompts = new Set(loaded.train.map((r) => r.promptHash));
      assert.ok(loaded.heldout.every((r) => !trainPrompts.has(r.promptHash)), 'no prompt in both splits');
      assert.ok(loaded.heldout.length > 0);

      // statistics: thumbs-up rate per version excludes the flagged troll
      const stats = first.manifest.statistics;
      assert.deepEqual(stats.thumbsUpRateByVersion, { v1: { up: 151, down: 0, rate: 1 }, v2: { up: 0, down: 150, rate: 0 } }); // 5 honest users × 30, plus h6's vote
      assert.equal(stats.feedbackEventsByType.pairwise, 31);
      assert.equal(stats.pairwiseTies, 1);
      assert.equal(stats.lengthBias.chosenLongerFraction, 1);
    });

    it(`${label} concurrent snapshot requests serialize their refresh and agree`, async () => {
      const [a, b, c] = await Promise.all([
        createSnapshot(createRepositories(ds), store, { heldoutFraction: 0.3 }),
        createSnapshot(createRepositories(ds), store, { heldoutFraction: 0.3 }),
        new DatasetService(createRepositories(ds), store).refreshPreferencePairs(),
      ]);
      assert.equal(a.id, b.id);
      assert.equal(c.pairs, a.pairRefresh?.pairs);
    });

    it(`${label} a snapshot's files are verified on read`, async () => {
      const { id, artifactPath } = await createSnapshot(createRepositories(ds), store, { sources: ['pairwise'] });
      await store.put(`${artifactPath}/train.jsonl`, 'tampered\n');
      await assert.rejects(readSnapshot(store, id), SnapshotIntegrityError);
      await assert.rejects(createSnapshot(createRepositories(ds), store, { sources: ['pairwise'] }), /differs from the snapshot/);
    });

    it(`${label} a time window selects pairs by their latest event`, async () => {
      const to = new Date(T0 + 60_000 * 200).toISOString(); // the first ~200 events: prompts 0..15
      const s = await createSnapshot(createRepositories(ds), store, { to, sources: ['pairwise'], heldoutFraction: 0 }, { refreshPairs: false });
      assert.ok(s.manifest.counts.total > 5 && s.manifest.counts.total < 30, `window kept ${s.manifest.counts.total} of 30`);
      assert.ok((s.manifest.sourceEventRange.to ?? '') < to);
      assert.equal(s.manifest.counts.excluded.window, 30 - s.manifest.counts.total);
    });

    it(`${label} the data-readiness count: pairs at or after the newest snapshot's window end, 0 without new feedback, a new pair counted`, async () => {
      const svc = new DatasetService(createRepositories(ds), store);
      const to = new Date(T0 + 60_000 * 201.5);
      await createSnapshot(createRepositories(ds), store, { to: to.toISOString(), sources: ['pairwise'], heldoutFraction: 0 }, { refreshPairs: false });
      const count = await svc.newPairsSinceNewestSnapshot();
      const stored = await ds.getRepository(PreferencePairEntity).find();
      const expected = stored.filter((p) => p.createdAt.getTime() >= to.getTime()).length;
      assert.ok(expected > 0 && expected < stored.length, `${expected} of ${stored.length} pairs are newer than the window`);
      assert.equal(count, expected);

      // a snapshot whose window ends after every event: nothing is new
      const later = new Date(T0 + 60_000 * 100_000);
      await createSnapshot(createRepositories(ds), store, { to: later.toISOString(), heldoutFraction: 0 }, { refreshPairs: false });
      assert.equal(await svc.newPairsSinceNewestSnapshot(), 0);

      // one comparison after it is one new pair (the derivation sees it: the table was not refreshed by hand)
      await ds.getRepository(CompletionEntity).insert([completionRow('late-a', 'a late prompt', 'a good, complete late answer', 'v1'), completionRow('late-b', 'a late prompt', 'late', 'v2')]);
      await ds.getRepository(FeedbackEventEntity).insert(feedbackRow('pairwise', 'late-a', 1, 'h1', { otherCompletionId: 'late-b', createdAt: new Date(later.getTime() + 60_000) }));
      assert.equal(await svc.newPairsSinceNewestSnapshot(), 1);
      assert.equal(await ds.getRepository(PreferencePairEntity).countBy({ chosenCompletionId: 'late-a' }), 1, 'the count refreshed the pairs table');
    });
  });
}
