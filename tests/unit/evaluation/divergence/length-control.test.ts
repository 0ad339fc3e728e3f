import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type JudgedComparison, type LengthScoredResponse, lengthControlledRewardGain, lengthControlledWinRate } from '../../../../src/evaluation/divergence/index.js';
import { sigmoid } from '../../../../src/evaluation/statistics/index.js';
import { mulberry32 } from '../../../support/mulberry32.js';

function gauss(u: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** Integer lengths: the incumbent around 20 words, the candidate around 32 (overlapping). */
function samples(seed: number, n: number, meanLength: number, reward: (length: number) => number, sigma = 0.05): LengthScoredResponse[] {
  const u = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const length = Math.max(3, Math.round(meanLength + 7 * gauss(u)));
    return { length, reward: reward(length) + sigma * gauss(u) };
  });
}

describe('length-controlled reward gain', () => {
  it('is ≈ 0 for a reward that is linear in length, although the raw gain is large', () => {
    const f = (l: number): number => 0.05 * l;
    const g = lengthControlledRewardGain(samples(1, 400, 20, f), samples(2, 400, 32, f), { seed: 3, resamples: 300 });
    assert.ok(g.rawGain.lower > 0.4, `raw ${JSON.stringify(g.rawGain)}`);
    assert.ok(g.lengthShift.value > 10);
    assert.ok(Math.abs(g.regressionGain.value) < 0.01 && g.regressionGain.lower < 0 && g.regressionGain.upper > 0, `regression ${JSON.stringify(g.regressionGain)}`);
    assert.ok(Math.abs(g.binnedGain.value) < 0.05, `binned ${JSON.stringify(g.binnedGain)}`);
  });

  it('is ≈ 0 within length strata for a nonlinear pure-length reward', () => {
    const f = (l: number): number => Math.log(l);
    const g = lengthControlledRewardGain(samples(4, 400, 20, f), samples(5, 400, 32, f), { seed: 3, resamples: 300, bins: 20 });
    assert.ok(g.rawGain.value > 0.4);
    assert.ok(Math.abs(g.binnedGain.value) < 0.03, `binned ${JSON.stringify(g.binnedGain)}`);
    assert.ok(g.binnedGain.lower < 0.03);
  });

  it('is > 0 (CI above 0) for a reward with a real quality component', () => {
    const f = (l: number): number => 0.05 * l;
    const g = lengthControlledRewardGain(samples(6, 400, 20, f), samples(7, 400, 32, (l) => f(l) + 0.3), { seed: 3, resamples: 300 });
    assert.ok(Math.abs(g.regressionGain.value - 0.3) < 0.02 && g.regressionGain.lower > 0.2, `regression ${JSON.stringify(g.regressionGain)}`);
    assert.ok(Math.abs(g.binnedGain.value - 0.3) < 0.06 && g.binnedGain.lower > 0.15, `binned ${JSON.stringify(g.binnedGain)}`);
  });

  it('refuses groups whose lengths never overlap', () => {
    const short = [{ reward: 1, length: 5 }, { reward: 1, length: 6 }];
    const long = [{ reward: 2, length: 50 }, { reward: 2, length: 60 }];
    assert.throws(() => lengthControlledRewardGain(short, long, { seed: 1, bins: 2 }), /candidate: no length stratum holds both/);
  });
});

describe('length-controlled win rate (AlpacaEval-LC)', () => {
  function judged(seed: number, quality: number): JudgedComparison[] {
    const u = mulberry32(seed);
    return Array.from({ length: 600 }, () => {
      const incumbentLength = 20 + Math.round(5 * gauss(u));
      const candidateLength = incumbentLength + Math.round(8 + 10 * gauss(u)); // usually, not always, longer
      const p = sigmoid(quality + 1.5 * Math.tanh((candidateLength - incumbentLength) / 10));
      return { preference: u() < p ? 1 : 0, candidateLength, incumbentLength };
    });
  }

  it('a judge that only likes length: raw win rate well above ½, length-controlled ≈ ½', () => {
    const r = lengthControlledWinRate(judged(1, 0), { seed: 2, resamples: 200 });
    assert.ok(r.winRate.lower > 0.6, `raw ${JSON.stringify(r.winRate)}`);
    assert.ok(r.lengthControlledWinRate.lower < 0.5 && r.lengthControlledWinRate.upper > 0.5, `lc ${JSON.stringify(r.lengthControlledWinRate)}`);
    assert.ok(r.lengthCoefficient > 1);
  });

  it('a genuinely better candidate keeps its advantage after length control', () => {
    const r = lengthControlledWinRate(judged(3, 0.8), { seed: 2, resamples: 200 });
    assert.ok(Math.abs(r.lengthControlledWinRate.value - sigmoid(0.8)) < 0.07, `lc ${r.lengthControlledWinRate.value}`);
    assert.ok(r.lengthControlledWinRate.lower > 0.55);
  });

  it('equal lengths: the LC win rate is the plain win rate; soft preferences are accepted', () => {
    const same = [0.9, 0.7, 0.8, 0.6].map((preference) => ({ preference, candidateLength: 10, incumbentLength: 10 }));
    const r = lengthControlledWinRate(same, { seed: 1, resamples: 50 });
    assert.ok(Math.abs(r.lengthControlledWinRate.value - 0.75) < 1e-3);
    assert.throws(() => lengthControlledWinRate([{ preference: 2, candidateLength: 1, incumbentLength: 1 }], { seed: 1 }), /comparisons\[0\]\.preference: must be in \[0, 1\]/);
  });
});
