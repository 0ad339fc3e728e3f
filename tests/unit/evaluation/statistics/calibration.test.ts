import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expectedCalibrationError } from '../../../../src/evaluation/statistics/index.js';
import { mulberry32 } from '../../../support/mulberry32.js';

describe('expected calibration error (10 equal-width bins)', () => {
  it('matches a hand-computed example', () => {
    // bin [0, .1): p .05, y 0  → |0 − .05| = .05, weight 1/7
    // bin [.1, .2): p .15 ×2, y 1, 0 → |.5 − .15| = .35, weight 2/7
    // bin [.9, 1]: p .95 ×4, y 1,1,1,0 → |.75 − .95| = .2, weight 4/7
    // ECE = (.05 + .70 + .80) / 7
    const c = expectedCalibrationError([0.05, 0.15, 0.15, 0.95, 0.95, 0.95, 0.95], [0, 1, 0, 1, 1, 1, 0]);
    assert.ok(Math.abs(c.ece - 1.55 / 7) < 1e-12, `ece ${c.ece}`);
    assert.deepEqual(c.bins.map((b) => [b.lower, b.count]), [[0, 1], [0.1, 2], [0.9, 4]]);
  });

  it('puts p = 1 in the last bin and p = 0.1 in the second', () => {
    const c = expectedCalibrationError([1, 0.1], [1, 0]);
    assert.deepEqual(c.bins.map((b) => b.lower), [0.1, 0.9]);
    assert.ok(Math.abs(c.ece - 0.05) < 1e-12); // (|0 − .1| + |1 − 1|) / 2
  });

  it('is near 0 for calibrated probabilities and large for overconfident ones', () => {
    const u = mulberry32(4);
    const p: number[] = [], y: number[] = [], over: number[] = [];
    for (let i = 0; i < 20000; i++) {
      const pi = u();
      p.push(pi);
      y.push(u() < pi ? 1 : 0);
      over.push(pi > 0.5 ? 1 : 0);
    }
    assert.ok(expectedCalibrationError(p, y).ece < 0.02);
    assert.ok(expectedCalibrationError(over, y).ece > 0.2);
  });

  it('refuses probabilities outside [0, 1], naming the index', () => {
    assert.throws(() => expectedCalibrationError([0.5, 1.2], [1, 0]), /probabilities\[1\]: must be in \[0, 1\]/);
  });
});
