import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mean, populationVariance, quantile, sampleStd, sampleVariance, summarize } from '../../../../src/evaluation/statistics/index.js';

describe('descriptive statistics', () => {
  it('mean, sample and population variance against hand-computed values', () => {
    const x = [2, 4, 4, 4, 5, 5, 7, 9]; // mean 5, Σ(x−5)² = 32
    assert.equal(mean(x), 5);
    assert.equal(populationVariance(x), 4);
    assert.equal(sampleVariance(x), 32 / 7);
    assert.equal(sampleStd(x), Math.sqrt(32 / 7));
    assert.ok(Number.isNaN(mean([])));
    assert.ok(Number.isNaN(sampleVariance([1])));
  });

  it('quantiles interpolate linearly between order statistics (type 7)', () => {
    const x = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
    assert.equal(quantile(x, 0.9), 9.1); // 1 + 0.9·9 → between 9 and 10
    assert.equal(quantile(x, 0.5), 5.5);
    assert.equal(quantile(x, 0), 1);
    assert.equal(quantile(x, 1), 10);
    const s = summarize(x);
    assert.deepEqual([s.count, s.min, s.p50, s.p90, s.max], [10, 1, 5.5, 9.1, 10]);
  });

  it('rejects a quantile outside [0, 1] and non-finite values, naming them', () => {
    assert.throws(() => quantile([1, 2], 1.5), /q: quantile must be in \[0, 1\]/);
    assert.throws(() => quantile([1, Number.NaN], 0.5), /values\[1\]: must be a finite number/);
  });
});
