import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type KlEvalPoint, fitOveroptimization, gaoGain } from '../../../../src/evaluation/divergence/index.js';
import { mulberry32 } from '../../../support/mulberry32.js';

function noisyCurve(form: 'rl' | 'best_of_n', alpha: number, beta: number, ds: number[], sigma: number, seed: number, baseline = 0.2): KlEvalPoint[] {
  const u = mulberry32(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  return [{ kl: 0, value: baseline }, ...ds.map((d) => ({ kl: d * d, value: baseline + gaoGain(form, alpha, beta, d) + sigma * gauss() }))];
}

const range = (from: number, to: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + ((to - from) * i) / (n - 1));

describe('Gao et al. over-optimisation fit', () => {
  it('recovers α and β exactly from a noiseless RL curve', () => {
    const fit = fitOveroptimization(noisyCurve('rl', 1, 0.3, range(0.5, 14, 12), 0, 1), { form: 'rl' });
    assert.ok(Math.abs(fit.alpha - 1) < 1e-9 && Math.abs(fit.beta - 0.3) < 1e-9, `${fit.alpha} ${fit.beta}`);
    assert.ok(Math.abs(fit.peakD! - Math.exp(1 / 0.3 - 1)) < 1e-6);
    assert.ok(fit.rmse < 1e-9);
  });

  it('recovers α, β and d* = exp(α/β − 1) from noisy RL curves', () => {
    const trueDStar = Math.exp(1 / 0.3 - 1); // ≈ 10.3
    for (const seed of [1, 2, 3, 4, 5]) {
      const fit = fitOveroptimization(noisyCurve('rl', 1, 0.3, range(0.5, 14, 30), 0.05, seed), { form: 'rl' });
      assert.ok(Math.abs(fit.alpha - 1) < 0.06, `seed ${seed}: α ${fit.alpha}`);
      assert.ok(Math.abs(fit.beta - 0.3) < 0.025, `seed ${seed}: β ${fit.beta}`);
      assert.ok(Math.abs(fit.peakD! / trueDStar - 1) < 0.12, `seed ${seed}: d* ${fit.peakD} vs ${trueDStar}`);
      assert.ok(fit.rmse > 0.03 && fit.rmse < 0.07, `rmse ${fit.rmse}`); // ≈ the noise σ
      assert.equal(fit.current.pastPeak, true); // the run went to d = 14
      assert.ok(Math.abs(fit.current.fractionOfPeak! - 14 / fit.peakD!) < 1e-12);
      assert.ok(Math.abs(fit.peakKl! - fit.peakD! ** 2) < 1e-9);
    }
  });

  it('recovers the best-of-n form d(α − β d) with its peak α / 2β', () => {
    const fit = fitOveroptimization(noisyCurve('best_of_n', 0.8, 0.1, range(0.2, 7, 25), 0.02, 9), { form: 'best_of_n' });
    assert.ok(Math.abs(fit.alpha - 0.8) < 0.03 && Math.abs(fit.beta - 0.1) < 0.008, `${fit.alpha} ${fit.beta}`);
    assert.ok(Math.abs(fit.peakD! - 4) < 0.3, `d* ${fit.peakD}`);
    assert.ok(Math.abs(fit.peakValue! - (0.2 + 0.8 * 0.8 / (4 * 0.1))) < 0.05);
  });

  it('a run still before its peak, and a curve with no peak (β ≤ 0)', () => {
    const early = fitOveroptimization(noisyCurve('rl', 1, 0.3, range(0.5, 5, 10), 0, 1), { form: 'rl' });
    assert.equal(early.current.pastPeak, false);
    const rising = fitOveroptimization([{ kl: 1, value: 1 }, { kl: 4, value: 2.2 }, { kl: 9, value: 3.5 }], { form: 'best_of_n', baseline: 0 });
    assert.ok(rising.beta <= 0);
    assert.deepEqual([rising.peakD, rising.current.pastPeak], [null, null]);
  });

  it('needs a baseline and at least two points with KL > 0', () => {
    assert.throws(() => fitOveroptimization([{ kl: 1, value: 1 }, { kl: 2, value: 1 }], { form: 'rl' }), /options\.baseline: needed/);
    assert.throws(() => fitOveroptimization([{ kl: 0, value: 1 }, { kl: 2, value: 1 }], { form: 'rl' }), /points: the fit needs at least 2 points with kl > 0, got 1/);
    assert.throws(() => fitOveroptimization([{ kl: -1, value: 1 }], { form: 'rl', baseline: 0 }), /points\[0\]\.kl: KL must be ≥ 0/);
  });
});
