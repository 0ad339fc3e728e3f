// Descriptive statistics over plain number arrays. Sample statistics use n − 1 (an
// unbiased variance); quantiles interpolate linearly between order statistics
// (Hyndman & Fan 1996, type 7 — the default of R and NumPy), so p90 of 1..10 is 9.1.

import { EvaluationInputError, requireFinite } from '../errors.js';

export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / values.length;
}

/** Sample variance (n − 1 denominator); NaN for fewer than two values. */
export function sampleVariance(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) return Number.NaN;
  const m = mean(values);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i]! - m) ** 2;
  return ss / (n - 1);
}

export function sampleStd(values: ArrayLike<number>): number {
  return Math.sqrt(sampleVariance(values));
}

/** Population variance (n denominator): the spread of a fixed set, e.g. an ensemble's K members. */
export function populationVariance(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const m = mean(values);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i]! - m) ** 2;
  return ss / n;
}

/** Type-7 quantile of values already sorted ascending; q in [0, 1]. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new EvaluationInputError('q', `quantile must be in [0, 1], got ${q}`);
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export function quantile(values: ArrayLike<number>, q: number): number {
  requireFinite('values', values);
  return quantileSorted(Float64Array.from(values).sort(), q);
}

export interface Summary {
  count: number;
  mean: number;
  std: number;
  min: number;
  p50: number;
  p90: number;
  max: number;
}

export function summarize(values: ArrayLike<number>): Summary {
  requireFinite('values', values);
  const sorted = Float64Array.from(values).sort();
  return {
    count: sorted.length,
    mean: mean(sorted),
    std: sampleStd(sorted),
    min: sorted.length > 0 ? sorted[0]! : Number.NaN,
    p50: quantileSorted(sorted, 0.5),
    p90: quantileSorted(sorted, 0.9),
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
  };
}
