// The over-optimisation fit of Gao, Schulman & Hilton 2022 ("Scaling Laws for Reward Model
// Overoptimization", arXiv:2210.10760), eq. 1–2. With d = √KL(π ‖ π_ref) and R the gold
// (here: eval) gain over the initial policy,
//   RL:          R(d) = d (α − β ln d)     peak at d* = exp(α/β − 1)
//   best-of-n:   R(d) = d (α − β d)        peak at d* = α / (2β)
// Both are linear in (α, β) — regressors (d, −d ln d) or (d, −d²), no intercept, since
// R(0) = 0 — so ordinary least squares on R solves them exactly. A fit with β ≤ 0 predicts
// no peak (gain still rising or linear); then d* is null.

import { EvaluationInputError, requireFinite } from '../errors.js';
import { leastSquares } from '../statistics/index.js';

export type OveroptimizationForm = 'rl' | 'best_of_n';

export interface KlEvalPoint {
  /** KL to the reference policy (nats) */
  kl: number;
  /** eval metric at that KL (higher is better) */
  value: number;
  /** half the width of the value's confidence interval, when it has one */
  halfWidth?: number;
}

export interface OveroptimizationFit {
  form: OveroptimizationForm;
  alpha: number;
  beta: number;
  /** eval value at d = 0 that gains are measured from */
  baseline: number;
  /** predicted peak in d = √KL; null when the fit has no peak (β ≤ 0) */
  peakD: number | null;
  /** d*², the KL at the predicted peak */
  peakKl: number | null;
  /** predicted eval at the peak (baseline + R(d*)) */
  peakValue: number | null;
  /** predicted gain at the peak over the baseline (R(d*)); null without a peak */
  peakRise: number | null;
  /** mean CI half-width of the fitted points (null when they carry none): a peak that
   * rises less than this is a curve drawn through noise, not an over-optimization peak */
  noise: number | null;
  /** root mean squared error of the fit in eval units, and R² of the gains */
  rmse: number;
  r2: number;
  points: number;
  /** where the run's last point stands */
  current: {
    d: number;
    /** d / d*: above 1 the fit says the run is past its peak */
    fractionOfPeak: number | null;
    pastPeak: boolean | null;
    predictedValue: number;
  };
}

/** R(d) of the fitted form (d ≥ 0; R(0) = 0). */
export function gaoGain(form: OveroptimizationForm, alpha: number, beta: number, d: number): number {
  if (d === 0) return 0;
  return form === 'rl' ? d * (alpha - beta * Math.log(d)) : d * (alpha - beta * d);
}

/**
 * Fits eval vs √KL over a run's checkpoints, in order (the last point is "where the run
 * stands"). `baseline` is the eval at KL = 0 (the reference policy); it defaults to the
 * value of a point with kl = 0 and must be given when there is none.
 */
export function fitOveroptimization(points: readonly KlEvalPoint[], options: { form: OveroptimizationForm; baseline?: number }): OveroptimizationFit {
  const { form } = options;
  if (form !== 'rl' && form !== 'best_of_n') throw new EvaluationInputError('options.form', `must be "rl" or "best_of_n", got ${String(form)}`);
  points.forEach((p, i) => {
    requireFinite(`points[${i}]`, [p.kl, p.value]);
    if (p.kl < 0) throw new EvaluationInputError(`points[${i}].kl`, `KL must be ≥ 0, got ${p.kl}`);
  });
  const origin = points.find((p) => p.kl === 0);
  const baseline = options.baseline ?? origin?.value;
  if (baseline === undefined || !Number.isFinite(baseline)) throw new EvaluationInputError('options.baseline', 'needed: no point has kl = 0 to take the reference policy\'s eval from');
  const fitted = points.filter((p) => p.kl > 0);
  if (fitted.length < 2) throw new EvaluationInputError('points', `the fit needs at least 2 points with kl > 0, got ${fitted.length}`);
  const d = fitted.map((p) => Math.sqrt(p.kl));
  const rows = d.map((di) => (form === 'rl' ? [di, -di * Math.log(di)] : [di, -di * di]));
  const ls = leastSquares(rows, fitted.map((p) => p.value - baseline), 'fitOveroptimization');
  const [alpha, beta] = ls.coefficients as [number, number];
  const peakD = beta > 0 ? (form === 'rl' ? Math.exp(alpha / beta - 1) : alpha / (2 * beta)) : null;
  const last = points[points.length - 1]!;
  const dNow = Math.sqrt(last.kl);
  return {
    form,
    alpha,
    beta,
    baseline,
    peakD,
    peakKl: peakD === null ? null : peakD * peakD,
    peakValue: peakD === null ? null : baseline + gaoGain(form, alpha, beta, peakD),
    peakRise: peakD === null ? null : gaoGain(form, alpha, beta, peakD),
    noise: fitted.every((p) => p.halfWidth !== undefined && Number.isFinite(p.halfWidth)) ? fitted.reduce((a, p) => a + p.halfWidth!, 0) / fitted.length : null,
    rmse: ls.rmse,
    r2: ls.r2,
    points: fitted.length,
    current: {
      d: dNow,
      fractionOfPeak: peakD === null ? null : dNow / peakD,
      pastPeak: peakD === null ? null : dNow > peakD,
      predictedValue: baseline + gaoGain(form, alpha, beta, dNow),
    },
  };
}
