// The report's charts render to SVG in Node (vega-lite → vega, no browser): the Gao fit
// with its predicted peak, the reward-vs-eval panels with CI bands.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitOveroptimization, gaoGain } from '../../../../src/evaluation/index.js';
import { gaoFitSpec, renderSvg, rewardVsEvalSpec } from '../../../../src/services/evaluator/charts.js';

describe('evaluation charts', () => {
  it('draws the Gao fit, its checkpoints and the predicted peak d*', async () => {
    // R(d) = d(1 − 0.5 ln d): d* = exp(1/0.5 − 1) = e
    const points = [0, 0.5, 1, 2, 4, 8, 12].map((kl) => ({ kl, value: 0.4 + gaoGain('rl', 1, 0.5, Math.sqrt(kl)), checkpoint: `kl ${kl}` }));
    const fit = fitOveroptimization(points, { form: 'rl' });
    assert.ok(Math.abs(fit.peakD! - Math.E) < 1e-6);
    const svg = await renderSvg(gaoFitSpec(fit, points, 'extrinsic.correct'));
    assert.match(svg, /^<svg[\s\S]*<\/svg>$/);
    assert.match(svg, /d\* = 2\.72/);
    assert.match(svg, /√KL/);
  });

  it('draws one panel per metric with the CI band of each checkpoint', async () => {
    const points = ['step 0', 'step 100', 'step 200'].flatMap((checkpoint, order) => [
      { checkpoint, order, metric: 'proxy reward', value: order, lower: order - 0.1, upper: order + 0.1 },
      { checkpoint, order, metric: 'extrinsic.correct', value: 0.6 - order * 0.1, lower: 0.5 - order * 0.1, upper: 0.7 - order * 0.1 },
    ]);
    const svg = await renderSvg(rewardVsEvalSpec(points));
    assert.match(svg, /proxy reward/);
    assert.match(svg, /extrinsic\.correct/);
    assert.match(svg, /step 200/);
  });
});
