// Small exact regressions for the divergence checks: ordinary least squares through the
// normal equations (the models here have 2–3 regressors, so XᵀX is tiny and Gaussian
// elimination with partial pivoting is exact enough), and logistic regression by Newton's
// method (iteratively reweighted least squares), which accepts soft labels in [0, 1].

import { EvaluationInputError, requireFinite } from '../errors.js';

/** Solves A·x = b for a small dense square A; throws when A is singular. */
export function solveLinearSystem(a: readonly (readonly number[])[], b: readonly number[], what = 'system'): number[] {
  const k = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let col = 0; col < k; col++) {
    let pivot = col;
    for (let r = col + 1; r < k; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    const scale = Math.max(...m.map((row) => Math.abs(row[col]!)), 1e-300);
    if (Math.abs(m[pivot]![col]!) <= 1e-12 * scale) {
      throw new EvaluationInputError(what, 'the regressors are collinear (e.g. too few distinct points); no unique least-squares solution', 'collinear');
    }
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    for (let r = 0; r < k; r++) {
      if (r === col) continue;
      const f = m[r]![col]! / m[col]![col]!;
      if (f === 0) continue;
      for (let c = col; c <= k; c++) m[r]![c]! -= f * m[col]![c]!;
    }
  }
  return m.map((row, i) => row[k]! / row[i]!);
}

export interface LeastSquaresFit {
  coefficients: number[];
  residuals: Float64Array;
  /** root mean squared residual */
  rmse: number;
  /** 1 − SS_res / SS_tot (about the mean of y); NaN when y is constant */
  r2: number;
}

/** Minimises Σ (y_i − x_i·β)². `rows[i]` are the regressors of point i (add a 1 for an intercept). */
export function leastSquares(rows: readonly (readonly number[])[], y: readonly number[], what = 'leastSquares'): LeastSquaresFit {
  requireFinite(`${what}.y`, y);
  if (rows.length !== y.length) throw new EvaluationInputError(`${what}.rows`, `has ${rows.length} rows but y has ${y.length}`);
  const k = rows[0]?.length ?? 0;
  if (k === 0 || rows.length < k) throw new EvaluationInputError(what, `needs at least as many points (${rows.length}) as coefficients (${k})`);
  rows.forEach((r, i) => {
    if (r.length !== k) throw new EvaluationInputError(`${what}.rows[${i}]`, `has ${r.length} regressors, expected ${k}`);
    requireFinite(`${what}.rows[${i}]`, r);
  });
  const xtx = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const xty = new Array<number>(k).fill(0);
  rows.forEach((r, i) => {
    for (let p = 0; p < k; p++) {
      xty[p]! += r[p]! * y[i]!;
      for (let q = 0; q < k; q++) xtx[p]![q]! += r[p]! * r[q]!;
    }
  });
  const coefficients = solveLinearSystem(xtx, xty, what);
  const residuals = Float64Array.from(y, (yi, i) => yi - rows[i]!.reduce((s, x, p) => s + x * coefficients[p]!, 0));
  const ssRes = residuals.reduce((s, e) => s + e * e, 0);
  const my = y.reduce((s, v) => s + v, 0) / y.length;
  const ssTot = y.reduce((s, v) => s + (v - my) ** 2, 0);
  return { coefficients, residuals, rmse: Math.sqrt(ssRes / y.length), r2: ssTot === 0 ? Number.NaN : 1 - ssRes / ssTot };
}

export const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

export interface LogisticFit {
  coefficients: number[];
  iterations: number;
  converged: boolean;
}

/**
 * Maximum-likelihood logistic regression P(y = 1 | x) = σ(x·β), y in [0, 1] (soft labels
 * allowed). `l2` adds a ridge penalty ½·l2·|β|² that keeps β finite when the data are
 * separable; the AlpacaEval-LC fit uses a small one for that reason.
 */
export function logisticRegression(rows: readonly (readonly number[])[], y: readonly number[], options: { l2?: number; maxIterations?: number; tolerance?: number } = {}): LogisticFit {
  requireFinite('logisticRegression.y', y);
  const l2 = options.l2 ?? 0;
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-10;
  if (rows.length !== y.length) throw new EvaluationInputError('logisticRegression.rows', `has ${rows.length} rows but y has ${y.length}`);
  y.forEach((v, i) => {
    if (v < 0 || v > 1) throw new EvaluationInputError(`logisticRegression.y[${i}]`, `must be in [0, 1], got ${v}`);
  });
  const k = rows[0]?.length ?? 0;
  if (k === 0) throw new EvaluationInputError('logisticRegression.rows', 'needs at least one point and one regressor');
  let beta = new Array<number>(k).fill(0);
  for (let it = 1; it <= maxIterations; it++) {
    const grad = beta.map((b) => -l2 * b);
    const hess = Array.from({ length: k }, (_, p) => Array.from({ length: k }, (_, q) => (p === q ? l2 : 0)));
    rows.forEach((r, i) => {
      const p = sigmoid(r.reduce((s, x, j) => s + x * beta[j]!, 0));
      const w = p * (1 - p);
      for (let a = 0; a < k; a++) {
        grad[a]! += (y[i]! - p) * r[a]!;
        for (let b = 0; b < k; b++) hess[a]![b]! += w * r[a]! * r[b]!;
      }
    });
    const step = solveLinearSystem(hess, grad, 'logisticRegression');
    beta = beta.map((b, j) => b + step[j]!);
    if (Math.max(...step.map(Math.abs)) < tolerance) return { coefficients: beta, iterations: it, converged: true };
  }
  return { coefficients: beta, iterations: maxIterations, converged: false };
}
