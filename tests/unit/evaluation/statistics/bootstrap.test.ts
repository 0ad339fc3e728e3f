import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BootstrapResamples, bootstrap, bootstrapMean, pairedBootstrap, quantile, twoSampleBootstrap, mean } from '../../../../src/evaluation/statistics/index.js';
import { mulberry32 } from '../../../support/mulberry32.js';

/** Test inputs come from mulberry32, independent of the engine Rng the bootstrap uses. */
function normals(seed: number, n: number, mu: number, sigma: number): number[] {
  const u = mulberry32(seed);
  return Array.from({ length: n }, () => mu + sigma * Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()));
}

function coverage(level: number, trials: number, draw: (seed: number) => number[], truth: number): number {
  let covered = 0;
  for (let t = 0; t < trials; t++) {
    const ci = bootstrapMean(draw(1000 + t), { seed: t, resamples: 400, level });
    if (ci.lower <= truth && truth <= ci.upper) covered++;
  }
  return covered / trials;
}

describe('bootstrap', () => {
  it('the 95% interval of a normal mean covers the true mean at about the nominal rate', () => {
    const c = coverage(0.95, 200, (s) => normals(s, 40, 3, 2), 3);
    // percentile intervals run slightly narrow at n = 40 (≈ 0.93); 200 trials give ±0.03
    assert.ok(c >= 0.89 && c <= 0.99, `coverage ${c}`);
  });

  it('the 80% interval covers at about 80%, and a skewed (exponential) mean at about 95%', () => {
    const c80 = coverage(0.8, 200, (s) => normals(s, 40, -1, 0.5), -1);
    assert.ok(c80 >= 0.72 && c80 <= 0.88, `coverage ${c80}`);
    const exp = (seed: number): number[] => { const u = mulberry32(seed); return Array.from({ length: 80 }, () => -Math.log(1 - u())); };
    const c95 = coverage(0.95, 200, exp, 1);
    assert.ok(c95 >= 0.88 && c95 <= 0.99, `coverage ${c95}`);
  });

  it('is reproducible for a seed, differs across seeds, and reports value, se and level', () => {
    const x = normals(5, 30, 0, 1);
    const a = bootstrapMean(x, { seed: 9, resamples: 200 });
    assert.deepEqual(a, bootstrapMean(x, { seed: 9, resamples: 200 }));
    assert.notDeepEqual(a, bootstrapMean(x, { seed: 10, resamples: 200 }));
    assert.equal(a.value, mean(x));
    assert.equal(a.level, 0.95);
    assert.equal(a.resamples, 200);
    // the bootstrap SE of a mean ≈ s/√n
    const s = Math.sqrt(x.reduce((t, v) => t + (v - a.value) ** 2, 0) / 29);
    assert.ok(Math.abs(a.se - s / Math.sqrt(30)) < 0.04, `se ${a.se} vs ${s / Math.sqrt(30)}`);
    assert.ok(a.lower < a.value && a.value < a.upper);
  });

  it('a single unit gives a degenerate interval; NaN replicates are dropped and counted', () => {
    assert.deepEqual(bootstrapMean([4], { seed: 1, resamples: 50 }), { value: 4, lower: 4, upper: 4, se: 0, level: 0.95, resamples: 50 });
    // statistic undefined whenever the resample misses unit 0 (P = (1 − 1/3)^3 ≈ 0.30)
    const est = bootstrap(3, (idx) => (idx.includes(0) ? 1 : Number.NaN), { seed: 2, resamples: 1000 });
    assert.ok(est.resamples > 600 && est.resamples < 780, `kept ${est.resamples}`);
  });

  it('BootstrapResamples reuses one draw for several statistics, equal to separate bootstrap calls', () => {
    const x = normals(6, 25, 1, 1);
    const shared = new BootstrapResamples(25, { seed: 4, resamples: 300 });
    const max = (idx: Int32Array): number => Math.max(...Array.from(idx, (i) => x[i]!));
    assert.deepEqual(shared.estimate(max), bootstrap(25, max, { seed: 4, resamples: 300 }));
    assert.deepEqual(shared.estimate((idx) => Array.from(idx, (i) => x[i]!).reduce((a, b) => a + b) / 25), bootstrapMean(x, { seed: 4, resamples: 300 }));
  });

  it('refuses bad options naming them', () => {
    assert.throws(() => bootstrapMean([1, 2], { seed: 1, level: 1.2 }), /options\.level/);
    assert.throws(() => bootstrapMean([1, 2], { seed: 1, resamples: 0 }), /options\.resamples/);
    assert.throws(() => bootstrapMean([1, 2], { seed: Number.NaN }), /options\.seed/);
    assert.throws(() => bootstrapMean([], { seed: 1 }), /n: bootstrap needs at least one unit/);
  });
});

describe('paired bootstrap', () => {
  // 60 prompts of very different difficulty; the candidate is better by `shift` on each
  function scores(seed: number, shift: number): { candidate: number[]; incumbent: number[] } {
    const difficulty = normals(seed, 60, 0, 1);
    const e1 = normals(seed + 7777, 60, 0, 0.2);
    const e2 = normals(seed + 9999, 60, 0, 0.2);
    return { incumbent: difficulty.map((d, i) => d + e1[i]!), candidate: difficulty.map((d, i) => d + shift + e2[i]!) };
  }

  it('detects a known shift that an unpaired interval misses', () => {
    const { candidate, incumbent } = scores(1, 0.15);
    const paired = pairedBootstrap(candidate, incumbent, { seed: 3 });
    assert.ok(paired.lower > 0, `paired ${JSON.stringify(paired)}`);
    assert.ok(paired.shareAtOrBelowZero < 0.025);
    const unpaired = twoSampleBootstrap(60, 60, (a, b) => mean(Array.from(a, (i) => candidate[i]!)) - mean(Array.from(b, (i) => incumbent[i]!)), { seed: 3 });
    assert.ok(unpaired.lower < 0, `unpaired ${JSON.stringify(unpaired)}`); // prompt difficulty swamps it
    assert.ok(Math.abs(unpaired.value - paired.value) < 1e-12);
  });

  it('flags a null difference at about the nominal rate and a real one nearly always', () => {
    let falseAlarms = 0, detections = 0;
    for (let t = 0; t < 100; t++) {
      const nul = scores(100 + t, 0);
      const ci = pairedBootstrap(nul.candidate, nul.incumbent, { seed: t, resamples: 400 });
      if (ci.lower > 0 || ci.upper < 0) falseAlarms++;
      const alt = scores(500 + t, 0.15);
      if (pairedBootstrap(alt.candidate, alt.incumbent, { seed: t, resamples: 400 }).lower > 0) detections++;
    }
    assert.ok(falseAlarms <= 12, `false alarms ${falseAlarms}/100`);
    assert.ok(detections >= 90, `detections ${detections}/100`);
  });

  it('takes another statistic: the paired difference of p90 response lengths', () => {
    // the candidate's responses are the incumbent's plus 10 tokens on every prompt
    const incumbent = normals(21, 80, 40, 12).map(Math.round);
    const candidate = incumbent.map((l) => l + 10);
    const d = pairedBootstrap(candidate, incumbent, { seed: 4, resamples: 300 }, (v) => quantile(v, 0.9));
    assert.ok(Math.abs(d.value - 10) < 1e-9 && Math.abs(d.lower - 10) < 1e-9 && Math.abs(d.upper - 10) < 1e-9, JSON.stringify(d));
    assert.equal(d.shareAtOrBelowZero, 0);
  });

  it('refuses arrays that do not pair up', () => {
    assert.throws(() => pairedBootstrap([1, 2], [1], { seed: 1 }), /incumbent: has 1 values but candidate has 2/);
  });
});
