import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { leastSquares, logisticRegression, sigmoid } from '../../../../src/evaluation/statistics/index.js';
import { mulberry32 } from '../../../support/mulberry32.js';

describe('regression', () => {
  it('least squares recovers an exact line and reports a perfect fit', () => {
    const xs = [0, 1, 2, 3];
    const fit = leastSquares(xs.map((x) => [1, x]), xs.map((x) => 2 - 0.5 * x));
    assert.ok(Math.abs(fit.coefficients[0]! - 2) < 1e-12 && Math.abs(fit.coefficients[1]! + 0.5) < 1e-12);
    assert.ok(fit.rmse < 1e-12 && Math.abs(fit.r2 - 1) < 1e-12);
  });

  it('least squares on a hand example: y = [1, 3, 2] on x = [0, 1, 2] → intercept 1.5, slope 0.5', () => {
    const fit = leastSquares([[1, 0], [1, 1], [1, 2]], [1, 3, 2]);
    assert.ok(Math.abs(fit.coefficients[0]! - 1.5) < 1e-12 && Math.abs(fit.coefficients[1]! - 0.5) < 1e-12);
  });

  it('refuses collinear regressors', () => {
    assert.throws(() => leastSquares([[1, 2], [2, 4], [3, 6]], [1, 2, 3]), /collinear/);
  });

  it('logistic regression recovers the coefficients that generated the labels', () => {
    const u = mulberry32(11);
    const rows: number[][] = [], y: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const x = 4 * u() - 2;
      rows.push([1, x]);
      y.push(u() < sigmoid(0.5 + 1.5 * x) ? 1 : 0);
    }
    const fit = logisticRegression(rows, y);
    assert.ok(fit.converged);
    assert.ok(Math.abs(fit.coefficients[0]! - 0.5) < 0.12 && Math.abs(fit.coefficients[1]! - 1.5) < 0.15, `${fit.coefficients}`);
  });
});
