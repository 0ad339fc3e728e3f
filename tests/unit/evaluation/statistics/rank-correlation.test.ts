import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ResampleSpearman, averageRanks, kendallTauB, pearson, spearman } from '../../../../src/evaluation/statistics/index.js';
import { mulberry32 } from '../../../support/mulberry32.js';

describe('rank correlation', () => {
  it('average ranks share tied positions', () => {
    assert.deepEqual(Array.from(averageRanks([10, 30, 20, 30, 30])), [1, 4, 2, 4, 4]);
  });

  it('Spearman with ties against a hand-computed value', () => {
    // y ranks [1, 2, 3.5, 5, 3.5]; deviations from 3: x [−2,−1,0,1,2], y [−2,−1,.5,2,.5]
    // Σdxdy = 8, Σdx² = 10, Σdy² = 9.5 → ρ = 8/√95
    assert.ok(Math.abs(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) - 8 / Math.sqrt(95)) < 1e-12);
  });

  it('Kendall τ-b with ties against a hand-computed value', () => {
    // 10 pairs: 8 concordant, 1 discordant (4,5), 1 tied in y (3,5) → 7 / √(10·9)
    assert.ok(Math.abs(kendallTauB([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) - 7 / Math.sqrt(90)) < 1e-12);
    // ties in both: x [1,1,2,3], y [1,2,2,3]: pairs (1,2) tied x, (2,3) tied y, 4 concordant → 4 / √(5·5)
    assert.ok(Math.abs(kendallTauB([1, 1, 2, 3], [1, 2, 2, 3]) - 0.8) < 1e-12);
  });

  it('±1 for monotone relations, invariant to monotone transforms; NaN for a constant', () => {
    const x = [0.1, 0.5, 2, 7, 9];
    assert.equal(spearman(x, x.map((v) => Math.exp(v))), 1);
    assert.equal(kendallTauB(x, x.map((v) => -v * v)), -1);
    assert.ok(pearson(x, x.map(Math.exp)) < 1);
    assert.ok(Number.isNaN(spearman(x, [1, 1, 1, 1, 1])));
    assert.ok(Number.isNaN(kendallTauB(x, [1, 1, 1, 1, 1])));
  });

  it('ResampleSpearman equals Spearman of the data with each point repeated as often as it was drawn', () => {
    const u = mulberry32(12);
    const x = Array.from({ length: 40 }, () => Math.floor(u() * 8)); // many ties
    const y = x.map((v) => v + Math.floor(u() * 5));
    const fast = new ResampleSpearman(x, y);
    for (let trial = 0; trial < 20; trial++) {
      const weights = x.map(() => Math.floor(u() * 3)); // 0, 1 or 2 draws
      const ex: number[] = [], ey: number[] = [];
      weights.forEach((w, i) => { for (let k = 0; k < w; k++) { ex.push(x[i]!); ey.push(y[i]!); } });
      assert.ok(Math.abs(fast.of(weights) - spearman(ex, ey)) < 1e-12, `trial ${trial}`);
    }
    assert.ok(Math.abs(fast.of(x.map(() => 1)) - spearman(x, y)) < 1e-12);
  });

  it('refuses arrays of different length', () => {
    assert.throws(() => spearman([1, 2, 3], [1, 2]), /y: has 2 values but x has 3/);
  });
});
