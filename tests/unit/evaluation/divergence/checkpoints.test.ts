import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  type CheckpointEvaluation, chooseCheckpointByEval, detectRewardUpEvalDown, ensembleDisagreementTrend, rewardEvalRankCorrelations,
} from '../../../../src/evaluation/divergence/index.js';
import type { Estimate } from '../../../../src/evaluation/statistics/index.js';

const est = (value: number, se = 0.02): Estimate => ({ value, lower: value - 2 * se, upper: value + 2 * se, se, level: 0.95, resamples: 1000 });

// An over-optimising run: reward climbs every step, the extrinsic eval peaks at step 300 and
// falls, the refusal rate (lower is better) rises, ensemble disagreement grows.
const reward = [0.1, 0.4, 0.7, 0.9, 1.2, 1.5];
const extrinsic = [0.50, 0.60, 0.66, 0.70, 0.68, 0.55];
const refusal = [0.05, 0.04, 0.05, 0.06, 0.10, 0.20];
const run: CheckpointEvaluation[] = reward.map((r, i) => ({
  step: i * 100,
  kl: i * i * 0.5,
  proxyReward: est(r),
  metrics: { extrinsic: est(extrinsic[i]!, i === 3 ? 0.05 : 0.02), refusal: est(refusal[i]!, 0.01) },
  ensembleDisagreement: est(0.1 + 0.04 * i, 0.005),
}));

describe('divergence across checkpoints', () => {
  it('rank correlations of proxy reward with each eval metric', () => {
    const byMetric = Object.fromEntries(rewardEvalRankCorrelations(run).map((c) => [c.metric, c]));
    // extrinsic ranks [1,3,4,6,5,2] against reward ranks 1..6: Σd² = 0+1+1+4+0+16 = 22 → ρ = 1 − 6·22/(6·35)
    assert.ok(Math.abs(byMetric.extrinsic!.spearman - (1 - 132 / 210)) < 1e-12);
    // inversions (3,2) (4,2) (6,5) (6,2) (5,2): 10 concordant, 5 discordant → τ = 5/15
    assert.ok(Math.abs(byMetric.extrinsic!.kendall - 1 / 3) < 1e-12);
    assert.equal(byMetric.refusal!.checkpoints, 6);
    assert.ok(byMetric.refusal!.spearman > 0.8); // reward and refusal rate rise together
  });

  it('"reward up, eval down": flags checkpoints past the eval peak whose eval CI lies below the peak', () => {
    const d = detectRewardUpEvalDown(run, 'extrinsic');
    assert.equal(d.evalPeakStep, 300);
    // step 400: 0.68 ± 0.04 reaches 0.70 → within noise; step 500: 0.55 + 0.04 < 0.70 → flagged
    assert.deepEqual(d.flagged.map((f) => f.step), [500]);
    assert.ok(Math.abs(d.flagged[0]!.rewardGain - 0.6) < 1e-12 && Math.abs(d.flagged[0]!.evalDrop - 0.15) < 1e-12);
    assert.equal(d.detected, true);
    // lower-is-better metric: the refusal rate's best is step 100; 400 and 500 are worse beyond their CIs
    const r = detectRewardUpEvalDown(run, 'refusal', { direction: 'lower' });
    assert.equal(r.evalPeakStep, 100);
    assert.deepEqual(r.flagged.map((f) => f.step), [400, 500]);
  });

  it('no detection on a healthy run where eval follows reward', () => {
    const healthy = run.map((c, i) => ({ ...c, metrics: { extrinsic: est(0.5 + 0.05 * i) } }));
    assert.equal(detectRewardUpEvalDown(healthy, 'extrinsic').detected, false);
  });

  it('the one-standard-error rule picks the least-KL checkpoint within one SE of the best', () => {
    // best 0.70 at step 300 with se 0.05 → threshold 0.65: steps 200 (0.66), 300, 400 qualify; step 200 has the least KL
    const choice = chooseCheckpointByEval(run, 'extrinsic');
    assert.deepEqual([choice.step, choice.bestStep, choice.eligibleSteps], [200, 300, [200, 300, 400]]);
    assert.ok(Math.abs(choice.threshold - 0.65) < 1e-12);
    // with a tight SE only the peak itself qualifies
    const tight = run.map((c) => ({ ...c, metrics: { extrinsic: { ...c.metrics.extrinsic!, se: 0.001 } } }));
    assert.equal(chooseCheckpointByEval(tight, 'extrinsic').step, 300);
  });

  it('ensemble disagreement trend: rising beyond the CI', () => {
    const t = ensembleDisagreementTrend(run)!;
    assert.ok(Math.abs(t.growth - 0.2) < 1e-12);
    assert.ok(Math.abs(t.slopePerStep - 0.0004) < 1e-12);
    assert.equal(t.spearmanWithStep, 1);
    assert.equal(t.risingBeyondCi, true);
    assert.equal(ensembleDisagreementTrend(run.slice(0, 1)), null);
  });

  it('names a checkpoint that lacks the metric', () => {
    const broken = [...run.slice(0, 2), { ...run[2]!, metrics: { refusal: est(0.1) } }];
    assert.throws(() => chooseCheckpointByEval(broken, 'extrinsic'), /checkpoints\[2\]\.metrics\.extrinsic: checkpoint at step 200 has no "extrinsic" \(has: refusal\)/);
  });
});
