import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { promptHashOf } from '../../../../src/domain/dataset/dataset.types.js';
import {
  derivePreferencePairs,
  preferencePairId,
  preferencePairsFromEdits,
  preferencePairsFromPairwise,
  preferencePairsFromRatings,
  preferencePairsFromThumbs,
} from '../../../../src/domain/dataset/preference-pairs.js';
import { byId, completion, feedback } from './fixtures.js';

const PROMPT = 'How do I kill a Linux process?';
const good = completion('c-good', PROMPT, 'Run `kill <pid>`; use `kill -9` only if it ignores SIGTERM.');
const bad = completion('c-bad', PROMPT, 'I cannot help with killing.', 'policy-v2');
const other = completion('c-other', 'What is 2+2?', '4');
const completions = byId([good, bad, other]);

describe('preference pairs', () => {
  it('pairwise: the chosen completion wins, with the event as provenance; -1 flips the direction', () => {
    const e1 = feedback('pairwise', 'c-good', 1, { otherCompletionId: 'c-bad' });
    const e2 = feedback('pairwise', 'c-bad', -1, { otherCompletionId: 'c-good', userId: 'bob' });
    const pairs = preferencePairsFromPairwise([e1, e2], completions);
    assert.equal(pairs.length, 1, 'both events say good ≻ bad: one pair');
    const p = pairs[0]!;
    assert.equal(p.chosenText, good.response);
    assert.equal(p.rejectedText, bad.response);
    assert.equal(p.chosenCompletionId, 'c-good');
    assert.equal(p.rejectedCompletionId, 'c-bad');
    assert.equal(p.chosenModelVersion, 'policy-v1');
    assert.equal(p.rejectedModelVersion, 'policy-v2');
    assert.deepEqual(p.eventIds, [e1.id, e2.id].sort());
    assert.equal(p.conflictCount, 0);
    assert.equal(p.source, 'pairwise');
    assert.equal(p.promptHash, promptHashOf(good.messages));
    assert.deepEqual(p.promptMessages, [{ role: 'user', content: PROMPT }]);
    assert.equal(p.id, preferencePairId(p.promptHash, good.response, bad.response, 'pairwise'));
    assert.deepEqual(p.createdAt, e2.createdAt, 'a pair is as recent as its latest supporting event');
  });

  it('pairwise: conflicting labels are kept in both directions and counted, not overwritten', () => {
    const forGood = [1, 2, 3].map((i) => feedback('pairwise', 'c-good', 1, { otherCompletionId: 'c-bad', userId: `u${i}` }));
    const forBad = feedback('pairwise', 'c-good', -1, { otherCompletionId: 'c-bad', userId: 'u9' });
    const pairs = preferencePairsFromPairwise([...forGood, forBad], completions);
    assert.equal(pairs.length, 2);
    const goodWins = pairs.find((p) => p.chosenText === good.response)!;
    const badWins = pairs.find((p) => p.chosenText === bad.response)!;
    assert.deepEqual(goodWins.eventIds, forGood.map((e) => e.id).sort());
    assert.equal(goodWins.conflictCount, 1);
    assert.deepEqual(goodWins.conflictingEventIds, [forBad.id]);
    assert.deepEqual(badWins.eventIds, [forBad.id]);
    assert.equal(badWins.conflictCount, 3);
  });

  it('pairwise: ties are counted, not paired; mismatched prompts and identical texts are skipped', () => {
    const same = completion('c-same', PROMPT, good.response);
    const cs = byId([good, bad, other, same]);
    const { pairs, report } = derivePreferencePairs(
      [
        feedback('pairwise', 'c-good', 0, { otherCompletionId: 'c-bad' }),
        feedback('pairwise', 'c-good', 0, { otherCompletionId: 'c-bad' }),
        feedback('pairwise', 'c-good', 1, { otherCompletionId: 'c-other' }),
        feedback('pairwise', 'c-good', 1, { otherCompletionId: 'c-same' }),
        feedback('pairwise', 'c-good', 1, { otherCompletionId: 'c-missing' }),
      ],
      cs,
    );
    assert.equal(pairs.length, 0);
    assert.equal(report.pairwiseTies, 2);
    assert.equal(report.skipped['pairwise: completions answer different prompts'], 1);
    assert.equal(report.skipped['pairwise: identical responses'], 1);
    assert.equal(report.skipped['pairwise: completion not found'], 1);
    assert.equal(report.events.pairwise, 5);
  });

  it('thumbs: an up response beats a down response to the same prompt; mixed votes are its conflicts', () => {
    const up1 = feedback('thumbs', 'c-good', 1, { userId: 'u1' });
    const up2 = feedback('thumbs', 'c-good', 1, { userId: 'u2' });
    const dissent = feedback('thumbs', 'c-good', -1, { userId: 'u3' });
    const down = feedback('thumbs', 'c-bad', -1, { userId: 'u1' });
    const unrelated = feedback('thumbs', 'c-other', -1);
    const pairs = preferencePairsFromThumbs([up1, up2, dissent, down, unrelated], completions);
    assert.equal(pairs.length, 1, 'no pair across prompts, none from a lone down vote');
    const p = pairs[0]!;
    assert.equal(p.source, 'thumbs');
    assert.equal(p.chosenCompletionId, 'c-good');
    assert.equal(p.rejectedCompletionId, 'c-bad');
    assert.deepEqual(p.eventIds, [up1.id, up2.id, down.id].sort());
    assert.deepEqual(p.conflictingEventIds, [dissent.id]);
    assert.equal(p.conflictCount, 1);
  });

  it('thumbs: the same text served twice is one response', () => {
    const dup = completion('c-dup', PROMPT, good.response);
    const pairs = preferencePairsFromThumbs(
      [feedback('thumbs', 'c-good', 1), feedback('thumbs', 'c-dup', 1), feedback('thumbs', 'c-bad', -1)],
      byId([good, dup, bad]),
    );
    assert.equal(pairs.length, 1);
    assert.equal(pairs[0]!.eventIds.length, 3);
    assert.equal(pairs[0]!.chosenCompletionId, 'c-dup', 'smallest completion id represents the text, whatever the order');
  });

  it('edit: the edited response is chosen over the original; unchanged edits are skipped', () => {
    const e = feedback('edit', 'c-bad', null, { editedResponse: 'Use `kill <pid>`.' });
    const noop = feedback('edit', 'c-good', null, { editedResponse: `  ${good.response}  ` });
    const report = derivePreferencePairs([e, noop], completions).report;
    const pairs = preferencePairsFromEdits([e, noop], completions);
    assert.equal(pairs.length, 1);
    assert.equal(pairs[0]!.chosenText, 'Use `kill <pid>`.');
    assert.equal(pairs[0]!.chosenCompletionId, null);
    assert.equal(pairs[0]!.rejectedCompletionId, 'c-bad');
    assert.deepEqual(pairs[0]!.eventIds, [e.id]);
    assert.equal(report.skipped['edit: unchanged response'], 1);
  });

  it('rating: pairs only when mean ratings differ by the margin; the margin is the difference', () => {
    const third = completion('c-third', PROMPT, 'Try rebooting.');
    const cs = byId([good, bad, third]);
    const events = [
      feedback('rating', 'c-good', 5, { userId: 'u1' }),
      feedback('rating', 'c-good', 4, { userId: 'u2' }),
      feedback('rating', 'c-bad', 2, { userId: 'u1' }),
      feedback('rating', 'c-third', 4, { userId: 'u1' }),
    ];
    const pairs = preferencePairsFromRatings(events, cs, { minRatingMargin: 1 });
    const describe = pairs.map((p) => `${p.chosenCompletionId}>${p.rejectedCompletionId}:${p.margin}`).sort();
    // good 4.5, third 4, bad 2: good>bad 2.5, third>bad 2; good vs third only 0.5 apart
    assert.deepEqual(describe, ['c-good>c-bad:2.5', 'c-third>c-bad:2']);
    assert.equal(preferencePairsFromRatings(events, cs, { minRatingMargin: 2.1 }).length, 1);
  });

  it('rating: individual ratings pointing the other way are counted as conflicts', () => {
    const events = [
      feedback('rating', 'c-good', 5, { id: 'r1' }),
      feedback('rating', 'c-good', 5, { id: 'r2' }),
      feedback('rating', 'c-good', 1, { id: 'r3' }),
      feedback('rating', 'c-bad', 3, { id: 'r4' }),
    ];
    const [p] = preferencePairsFromRatings(events, completions, { minRatingMargin: 0.5 });
    // means 3.67 vs 3: good ≻ bad; r3 (1) vs r4 (3) points the other way by ≥ 0.5
    assert.equal(p!.chosenCompletionId, 'c-good');
    assert.deepEqual(p!.conflictingEventIds, ['r3', 'r4']);
    assert.deepEqual(p!.eventIds, ['r1', 'r2']);
  });

  it('derivation is deterministic: shuffled input, same rows in the same order', () => {
    const events = [
      feedback('pairwise', 'c-good', 1, { otherCompletionId: 'c-bad' }),
      feedback('thumbs', 'c-good', 1),
      feedback('thumbs', 'c-bad', -1),
      feedback('edit', 'c-bad', null, { editedResponse: 'better' }),
      feedback('rating', 'c-good', 5),
      feedback('rating', 'c-bad', 1),
    ];
    const a = derivePreferencePairs(events, completions).pairs;
    const b = derivePreferencePairs([...events].reverse(), completions).pairs;
    assert.deepEqual(a, b);
    assert.deepEqual(a.map((p) => p.source).sort(), ['edit', 'pairwise', 'rating', 'thumbs']);
  });
});
