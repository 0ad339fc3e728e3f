import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, contentHash, sha256Hex } from '../../../../src/domain/dataset/canonical.js';
import type { CompletionRow, FeedbackRow } from '../../../../src/domain/dataset/dataset.types.js';
import { derivePreferencePairs } from '../../../../src/domain/dataset/preference-pairs.js';
import { buildSnapshot, isHeldOut, normalizeSnapshotFilters, SnapshotFilterError } from '../../../../src/domain/dataset/snapshot.js';
import { datasetStatistics } from '../../../../src/domain/dataset/statistics.js';
import { byId, completion, feedback, resetFeedbackSequence, T0 } from './fixtures.js';

/** 60 prompts, each with a long and a short answer, pairwise-labelled (long wins), plus
 *  thumbs on the first 20 and an edit on the first 5. */
function world(): { completions: Map<string, CompletionRow>; events: FeedbackRow[] } {
  resetFeedbackSequence();
  const cs: CompletionRow[] = [];
  const events: FeedbackRow[] = [];
  for (let i = 0; i < 60; i++) {
    cs.push(completion(`long${i}`, `question ${i}`, `a long and careful answer to question ${i}`, 'v1'));
    cs.push(completion(`short${i}`, `question ${i}`, `short ${i}`, 'v2'));
    events.push(feedback('pairwise', `long${i}`, 1, { otherCompletionId: `short${i}`, createdAt: new Date(T0 + i * 3_600_000) }));
    if (i < 20) events.push(feedback('thumbs', `long${i}`, 1, { userId: 'u2' }), feedback('thumbs', `short${i}`, -1, { userId: 'u2' }));
    if (i < 5) events.push(feedback('edit', `short${i}`, null, { editedResponse: `an edited answer ${i}` }));
  }
  return { completions: byId(cs), events };
}

function pairsOf(w = world()) {
  return derivePreferencePairs(w.events, w.completions).pairs;
}

describe('canonical JSON', () => {
  it('sorts keys at every depth and normalizes -0 and dates', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ d: -0, c: new Date(0) }], u: undefined }), '{"a":[{"c":"1970-01-01T00:00:00.000Z","d":0}],"b":1}');
    assert.equal(contentHash({ x: 1, y: 2 }), contentHash({ y: 2, x: 1 }));
    assert.throws(() => canonicalJson({ bad: Number.NaN }), /bad: non-finite/);
  });
});

describe('dataset snapshots', () => {
  it('the same inputs give the same id and the same bytes, whatever the row order', () => {
    const pairs = pairsOf();
    const a = buildSnapshot({ pairs }, { heldoutFraction: 0.2 });
    const b = buildSnapshot({ pairs: [...pairs].reverse() }, { heldoutFraction: 0.2 });
    const c = buildSnapshot({ pairs: pairsOf() }, { heldoutFraction: 0.2, sources: ['thumbs', 'rating', 'pairwise', 'edit'] });
    assert.match(a.id, /^[0-9a-f]{64}$/);
    assert.equal(a.id, b.id);
    assert.equal(a.id, c.id, 'equivalent filters (same sources, other order) hash alike');
    assert.deepEqual(a.files, b.files);
    assert.equal(a.manifestSha256, sha256Hex(a.files['manifest.json']));
    assert.equal(a.manifest.files['train.jsonl'].sha256, sha256Hex(a.files['train.jsonl']));
  });

  it('any change in content or filters changes the id', () => {
    const pairs = pairsOf();
    const base = buildSnapshot({ pairs });
    const edited = pairs.map((p, i) => (i === 0 ? { ...p, chosenText: p.chosenText + '!' } : p));
    assert.notEqual(buildSnapshot({ pairs: edited }).id, base.id);
    assert.notEqual(buildSnapshot({ pairs }, { heldoutFraction: 0.3 }).id, base.id);
    assert.notEqual(buildSnapshot({ pairs }, { splitSalt: 'other' }).id, base.id);
  });

  it('splits by prompt: no prompt appears in both train and held-out, and the split is stable', () => {
    const pairs = pairsOf();
    const s = buildSnapshot({ pairs }, { heldoutFraction: 0.25, dedupe: false });
    const trainPrompts = new Set(s.train.map((r) => r.promptHash));
    const heldPrompts = new Set(s.heldout.map((r) => r.promptHash));
    assert.ok(heldPrompts.size > 0 && trainPrompts.size > 0);
    for (const p of heldPrompts) assert.ok(!trainPrompts.has(p), `prompt ${p} leaked into both splits`);
    assert.equal(s.manifest.counts.prompts.heldout, heldPrompts.size);
    // roughly the requested fraction of 60 prompts
    assert.ok(heldPrompts.size >= 7 && heldPrompts.size <= 25, `held out ${heldPrompts.size}/60 prompts`);
    // adding pairs for new prompts does not move existing prompts across the split
    const w = world();
    w.completions.set('x1', completion('x1', 'brand new', 'yes'));
    w.completions.set('x2', completion('x2', 'brand new', 'no'));
    w.events.push(feedback('pairwise', 'x1', 1, { otherCompletionId: 'x2' }));
    const bigger = buildSnapshot({ pairs: derivePreferencePairs(w.events, w.completions).pairs }, { heldoutFraction: 0.25, dedupe: false });
    const old = (r: { prompt: { content: string }[] }) => r.prompt[0]!.content !== 'brand new';
    assert.deepEqual(new Set(bigger.heldout.filter(old).map((r) => r.promptHash)), heldPrompts);
    assert.deepEqual(new Set(bigger.train.filter(old).map((r) => r.promptHash)), trainPrompts);
    assert.ok(isHeldOut(s.heldout[0]!.promptHash, normalizeSnapshotFilters({ heldoutFraction: 0.25 })));
  });

  it('files are canonical JSONL, sorted by id, and carry provenance', () => {
    const s = buildSnapshot({ pairs: pairsOf() });
    const lines = s.files['train.jsonl'].trimEnd().split('\n');
    assert.equal(lines.length, s.manifest.counts.train);
    const rows = lines.map((l) => JSON.parse(l));
    assert.deepEqual(rows.map((r) => r.id), [...rows.map((r) => r.id)].sort());
    for (const [i, r] of rows.entries()) {
      assert.equal(lines[i], canonicalJson(r));
      assert.ok(r.eventIds.length > 0, 'every row names the events that made it');
    }
  });

  it('dedupe merges the same preference found by several sources, keeping every event', () => {
    const pairs = pairsOf();
    const withDup = buildSnapshot({ pairs }, { dedupe: true, heldoutFraction: 0 });
    const without = buildSnapshot({ pairs }, { dedupe: false, heldoutFraction: 0 });
    // prompts 0..19 have a pairwise and a thumbs pair with the same texts
    assert.equal(without.manifest.counts.total, 60 + 20 + 5);
    assert.equal(withDup.manifest.counts.total, 60 + 5);
    assert.equal(withDup.manifest.counts.excluded.duplicates, 20);
    const merged = withDup.train.find((r) => r.sources.length === 2)!;
    assert.equal(merged.source, 'pairwise', 'the explicit choice represents the merged pair');
    assert.deepEqual(merged.sources, ['pairwise', 'thumbs']);
    assert.equal(merged.eventIds.length, 3);
  });

  it('filters: time window, minimum margin, sources and conflict policy', () => {
    const pairs = pairsOf();
    const from = new Date(T0 + 10 * 3_600_000).toISOString();
    const to = new Date(T0 + 20 * 3_600_000).toISOString();
    const windowed = buildSnapshot({ pairs }, { sources: ['pairwise'], from, to, heldoutFraction: 0 });
    assert.equal(windowed.manifest.counts.total, 10, 'pairwise pairs of hours 10..19');
    assert.ok(windowed.train.every((r) => r.createdAt >= from && r.createdAt < to));
    assert.equal(windowed.manifest.sourceEventRange.eventCount, 10);
    assert.equal(buildSnapshot({ pairs }, { minMargin: 1.5 }).manifest.counts.total, 0);
    assert.throws(() => buildSnapshot({ pairs }, { from: to, to: from }), SnapshotFilterError);
    assert.throws(() => buildSnapshot({ pairs }, { heldoutFraction: 1 }), /heldoutFraction/);
    assert.throws(() => buildSnapshot({ pairs }, { sources: ['nope' as 'edit'] }), /sources/);

    // a contested pair: 2 votes for long, 1 for short on prompt 0
    const w = world();
    w.events.push(
      feedback('pairwise', 'long0', 1, { otherCompletionId: 'short0', userId: 'u7' }),
      feedback('pairwise', 'short0', 1, { otherCompletionId: 'long0', userId: 'u8' }),
    );
    const contested = derivePreferencePairs(w.events, w.completions).pairs.filter((p) => p.source === 'pairwise' && p.promptMessages[0]!.content === 'question 0');
    assert.equal(contested.length, 2, 'both directions kept');
    const only = (policy: 'majority' | 'exclude' | 'all') =>
      buildSnapshot({ pairs: contested }, { conflicts: policy, heldoutFraction: 0 }).train.map((r) => r.chosen.startsWith('a long'));
    assert.deepEqual(only('majority'), [true]);
    assert.deepEqual(only('exclude'), []);
    assert.deepEqual(only('all').sort(), [false, true]);
  });
});

describe('dataset statistics', () => {
  it('counts by source, label agreement, length bias and per-version thumbs-up rate', () => {
    const s = datasetStatistics(
      [
        { source: 'pairwise', chosenText: 'a b c d', rejectedText: 'a', eventIds: ['e1', 'e2', 'e3'], conflictCount: 1 },
        { source: 'thumbs', chosenText: 'ab', rejectedText: 'abcd', eventIds: ['e4'], conflictCount: 0 },
      ],
      [
        { modelVersion: 'v1', value: 1 },
        { modelVersion: 'v1', value: 1 },
        { modelVersion: 'v1', value: -1 },
        { modelVersion: 'v2', value: -1 },
      ],
      { thumbs: 4, pairwise: 3 },
    );
    assert.deepEqual(s.pairsBySource, { pairwise: 1, thumbs: 1, edit: 0, rating: 0 });
    assert.equal(s.labelAgreement.meanAgreement, (0.75 + 1) / 2);
    assert.equal(s.labelAgreement.unanimousFraction, 0.5);
    assert.equal(s.labelAgreement.conflictedPairs, 1);
    assert.deepEqual(s.lengthBias.chars, { n: 2, mean: (6 - 2) / 2, median: 2 });
    assert.deepEqual(s.lengthBias.words, { n: 2, mean: 1.5, median: 1.5 });
    assert.equal(s.lengthBias.chosenLongerFraction, 0.5);
    assert.deepEqual(s.thumbsUpRateByVersion, { v1: { up: 2, down: 1, rate: 0.666666667 }, v2: { up: 0, down: 1, rate: 0 } });
  });

  it('a snapshot of length-biased labels shows it', () => {
    const s = buildSnapshot({ pairs: pairsOf() }, { sources: ['pairwise'] });
    assert.equal(s.manifest.statistics.lengthBias.chosenLongerFraction, 1);
    assert.ok((s.manifest.statistics.lengthBias.chars.mean ?? 0) > 20);
  });
});
