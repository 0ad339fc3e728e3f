import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type HeldOutPairScores, rewardModelReport } from '../../../../src/rlhf/reward/report.js';
import { sigmoid, spearman } from '../../../../src/evaluation/statistics/index.js';
import { mulberry32 } from '../../../support/mulberry32.js';

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

describe('RM evaluation report', () => {
  // four pairs from a two-member ensemble, worked by hand
  const pairs: HeldOutPairScores[] = [
    // margin 2 → right; previous margin 1 agrees
    { source: 'pairwise', chosenLength: 10, rejectedLength: 20, scoreChosen: [1, 3], scoreRejected: [0, 0], previousScoreChosen: 1, previousScoreRejected: 0 },
    // margin −1 → wrong; previous margin −1 agrees (same sign)
    { source: 'pairwise', chosenLength: 30, rejectedLength: 10, scoreChosen: [0, 0], scoreRejected: [1, 1], previousScoreChosen: 0, previousScoreRejected: 1 },
    // tied score → ½; lengths 10 vs 11 are matched at 10% tolerance
    { source: 'edit', chosenLength: 10, rejectedLength: 11, scoreChosen: [2, 2], scoreRejected: [2, 2] },
    // margin 1 → right; previous margin −2 disagrees; gold agrees
    { source: 'thumbs', chosenLength: 50, rejectedLength: 10, scoreChosen: [3, 1], scoreRejected: [0, 2], previousScoreChosen: 0, previousScoreRejected: 2, goldPreference: 1 },
  ];
  const report = rewardModelReport(pairs, { seed: 1, resamples: 200 });

  it('accuracy overall and per feedback source', () => {
    close(report.accuracy.value, 2.5 / 4, 'accuracy');
    close(report.accuracyBySource.pairwise!.value, 0.5, 'pairwise');
    close(report.accuracyBySource.edit!.value, 0.5, 'edit');
    close(report.accuracyBySource.thumbs!.value, 1, 'thumbs');
    assert.equal(report.accuracyBySource.rating, null);
    assert.deepEqual(report.pairsBySource, { pairwise: 2, edit: 1, rating: 0, thumbs: 1 });
    assert.equal(report.members, 2);
  });

  it('ECE of σ(r_c − r_r), each pair in both orientations', () => {
    // margins 2, −1, 0, 1 → bins: σ(−2) alone, σ(−1)×2 (y 1, 0), ½×2, σ(1)×2, σ(2) alone
    close(report.ece.value, (2 * sigmoid(-2) + 4 * (sigmoid(1) - 0.5)) / 8, 'ece');
  });

  it('length sensitivity: score–length Spearman, longer-wins share, the RM’s own longer preference, length-matched accuracy', () => {
    close(report.length.scoreLengthSpearman.value, spearman([2, 0, 2, 2, 0, 1, 2, 1], [10, 30, 10, 50, 20, 10, 11, 10]), 'spearman');
    close(report.length.longerChosenShare!.value, 0.5, 'longer chosen'); // pairs 2 and 4 chose the longer
    close(report.length.rmPrefersLongerShare!.value, 1.5 / 4, 'rm prefers longer'); // pair 4, and ½ for the tie
    close(report.length.lengthMatchedAccuracy!.value, 0.5, 'matched');
    assert.equal(report.length.lengthMatchedPairs, 1);
  });

  it('agreement with the previous RM, ensemble disagreement and gold accuracy', () => {
    close(report.agreementWithPrevious!.value, 2 / 3, 'agreement');
    close(report.ensembleDisagreement!.value, (0.5 + 0 + 0 + 1) / 4, 'disagreement'); // mean of the pair's two member stds
    close(report.goldAccuracy!.value, 1, 'gold');
  });

  it('every figure has a bootstrap CI around it, reproducible for the seed', () => {
    for (const e of [report.accuracy, report.ece, report.agreementWithPrevious!, report.ensembleDisagreement!]) {
      assert.ok(e.lower <= e.value + 1e-12 && e.value <= e.upper + 1e-12 && e.lower < e.upper, JSON.stringify(e));
      assert.equal(e.level, 0.95);
    }
    assert.deepEqual(rewardModelReport(pairs, { seed: 1, resamples: 200 }), report);
  });

  it('single-member RMs and missing data give null, not a made-up figure', () => {
    const single = rewardModelReport([{ source: 'rating', chosenLength: 5, rejectedLength: 9, scoreChosen: [1], scoreRejected: [0] }], { seed: 1, resamples: 50 });
    assert.equal(single.ensembleDisagreement, null);
    assert.equal(single.agreementWithPrevious, null);
    assert.equal(single.goldAccuracy, null);
    assert.equal(single.length.lengthMatchedAccuracy, null);
  });

  it('a pure-length RM: high length correlation, accuracy only from length, chance on length-matched pairs', () => {
    const u = mulberry32(8);
    const data: HeldOutPairScores[] = [];
    for (let i = 0; i < 600; i++) {
      const a = 10 + Math.floor(u() * 40), b = u() < 0.3 ? a + Math.floor(u() * 2) : 10 + Math.floor(u() * 40);
      const chosenFirst = u() < 0.5; // the label ignores length
      const [c, r] = chosenFirst ? [a, b] : [b, a];
      data.push({ source: 'pairwise', chosenLength: c, rejectedLength: r, scoreChosen: [c / 10, c / 10 + 0.01], scoreRejected: [r / 10, r / 10 + 0.01] });
    }
    const rep = rewardModelReport(data, { seed: 2, resamples: 300 });
    assert.ok(rep.length.scoreLengthSpearman.value > 0.99);
    assert.ok(rep.length.rmPrefersLongerShare!.value > 0.99);
    assert.ok(Math.abs(rep.length.lengthMatchedAccuracy!.value - 0.5) < 0.1, `matched ${rep.length.lengthMatchedAccuracy!.value}`);
    assert.ok(rep.length.lengthMatchedAccuracy!.lower < 0.5 && rep.length.lengthMatchedAccuracy!.upper > 0.5);
  });

  it('refuses malformed pairs, naming the field', () => {
    const ok = pairs[0]!;
    assert.throws(() => rewardModelReport([], { seed: 1 }), /pairs: the report needs at least one held-out pair/);
    assert.throws(() => rewardModelReport([ok, { ...ok, scoreRejected: [1] }], { seed: 1 }), /pairs\[1\]\.scoreRejected: has 1 member scores, pairs\[0\] has 2/);
    assert.throws(() => rewardModelReport([{ ...ok, source: 'email' as never }], { seed: 1 }), /pairs\[0\]\.source: must be one of pairwise, edit, rating, thumbs/);
    assert.throws(() => rewardModelReport([{ ...ok, previousScoreRejected: undefined }], { seed: 1 }), /pairs\[0\]\.previousScoreRejected: the previous RM needs both scores/);
    assert.throws(() => rewardModelReport([{ ...ok, scoreChosen: [1, Number.POSITIVE_INFINITY] }], { seed: 1 }), /pairs\[0\]\.scoreChosen\[1\]: must be a finite number/);
  });
});
