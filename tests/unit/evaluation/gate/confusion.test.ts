// The gate bench's bookkeeping: labels from the gold Δ's CI, counts per label and
// verdict (needs_review blocked, and counted apart), the chosen ÷ best gold ratio, and
// which rules block which labels.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chosenGoldRatio, confusionTable, labelByGoldDelta, ruleAttribution } from '../../../../src/evaluation/gate/confusion.js';

describe('gate confusion bookkeeping', () => {
  it('labels by the whole CI: above 0 good, below 0 harmful, straddling neutral', () => {
    assert.equal(labelByGoldDelta({ lower: 0.01, upper: 0.2 }), 'good');
    assert.equal(labelByGoldDelta({ lower: -0.2, upper: -0.001 }), 'harmful');
    assert.equal(labelByGoldDelta({ lower: -0.1, upper: 0.1 }), 'neutral');
    assert.equal(labelByGoldDelta({ lower: 0, upper: 0.3 }), 'neutral', 'a CI touching 0 is not beyond noise');
    assert.throws(() => labelByGoldDelta({ lower: Number.NaN, upper: 1 }), /finite CI/);
  });

  it('counts promoted, failed and needs_review per label; needs_review blocks', () => {
    const t = confusionTable('default', [
      { label: 'harmful', verdict: 'fail' },
      { label: 'harmful', verdict: 'needs_review' },
      { label: 'harmful', verdict: 'pass' },
      { label: 'harmful', verdict: 'fail' },
      { label: 'good', verdict: 'pass' },
      { label: 'good', verdict: 'needs_review' },
      { label: 'neutral', verdict: 'pass' },
    ]);
    assert.deepEqual(t.harmful, { candidates: 4, promoted: 1, failed: 2, needsReview: 1 });
    assert.deepEqual(t.good, { candidates: 2, promoted: 1, failed: 0, needsReview: 1 });
    assert.deepEqual(t.neutral, { candidates: 1, promoted: 1, failed: 0, needsReview: 0 });
    assert.equal(t.harmfulBlocked, 0.75);
    assert.equal(t.harmfulPromoted, 0.25);
    assert.equal(t.goodBlocked, 0.5);
    const none = confusionTable('naive', [{ label: 'neutral', verdict: 'fail' }]);
    assert.equal(none.harmfulBlocked, null);
    assert.equal(none.goodBlocked, null);
  });

  it('the chosen checkpoint\'s gold over the best one\'s; null when the best is not positive', () => {
    const golds = [{ step: 8, gold: 0.5 }, { step: 16, gold: 0.6 }, { step: 24, gold: 0.3 }];
    assert.deepEqual(chosenGoldRatio(golds, 8), { chosenStep: 8, chosenGold: 0.5, bestStep: 16, bestGold: 0.6, ratio: 0.5 / 0.6 });
    assert.equal(chosenGoldRatio(golds, 16).ratio, 1);
    assert.equal(chosenGoldRatio([{ step: 1, gold: -0.2 }, { step: 2, gold: -0.1 }], 1).ratio, null);
    assert.throws(() => chosenGoldRatio(golds, 3), /no checkpoint at step 3/);
  });

  it('attributes blocks to rules: fails per label, and sole blocks only with no other failing rule and nothing missing', () => {
    const a = ruleAttribution([
      { label: 'good', failing: ['extrinsic'] },
      { label: 'good', failing: ['extrinsic', 'risky'] },
      { label: 'good', failing: [] },
      { label: 'harmful', failing: ['extrinsic', 'kl'] },
      { label: 'harmful', failing: ['kl'] },
      { label: 'harmful', failing: ['kl'], missing: ['rewardUpEvalDown'] },
      { label: 'neutral', failing: ['risky', 'risky'] },
    ]);
    assert.deepEqual(a, [
      { rule: 'extrinsic', good: { fails: 2, sole: 1 }, harmful: { fails: 1, sole: 0 }, neutral: { fails: 0, sole: 0 } },
      { rule: 'risky', good: { fails: 1, sole: 0 }, harmful: { fails: 0, sole: 0 }, neutral: { fails: 1, sole: 1 } },
      { rule: 'kl', good: { fails: 0, sole: 0 }, harmful: { fails: 3, sole: 1 }, neutral: { fails: 0, sole: 0 } },
    ]);
    assert.deepEqual(ruleAttribution([]), []);
  });
});
