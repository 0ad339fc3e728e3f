// Seeded nonparametric bootstrap (Efron & Tibshirani 1993): resample the n units with
// replacement, recompute the statistic, and take the percentile interval of the
// replicates. Every figure Outerloop reports carries one; the seed makes the interval
// itself reproducible, so evaluating the same artifact twice gives the same numbers.
//
// A replicate whose statistic is undefined (NaN — e.g. a resample that drew no
// length-matched pair) is dropped and `resamples` reports how many were kept.

import { Rng } from '../../engine/rng.js';
import { EvaluationInputError, requireFinite, requireSameLength } from '../errors.js';
import { mean, quantileSorted, sampleStd } from './descriptive.js';

export interface BootstrapOptions {
  seed: number;
  /** number of bootstrap resamples; default 1000 */
  resamples?: number;
  /** confidence level of the percentile interval; default 0.95 */
  level?: number;
}

/** A point estimate with its percentile bootstrap interval. */
export interface Estimate {
  value: number;
  lower: number;
  upper: number;
  /** bootstrap standard error: the standard deviation of the replicates */
  se: number;
  level: number;
  /** replicates the interval was computed from (NaN replicates dropped) */
  resamples: number;
}

export const DEFAULT_RESAMPLES = 1000;
export const DEFAULT_LEVEL = 0.95;

interface ResolvedOptions {
  seed: number;
  resamples: number;
  level: number;
}

function resolve(options: BootstrapOptions): ResolvedOptions {
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const level = options.level ?? DEFAULT_LEVEL;
  if (!Number.isFinite(options.seed)) throw new EvaluationInputError('options.seed', `must be a finite number, got ${options.seed}`);
  if (!Number.isInteger(resamples) || resamples < 1) throw new EvaluationInputError('options.resamples', `must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new EvaluationInputError('options.level', `must be in (0, 1), got ${level}`);
  return { seed: options.seed, resamples, level };
}

/** Statistic over a resample: `indices[0..n)` are unit indices, drawn with replacement. */
export type ResampleStatistic = (indices: Int32Array) => number;

function estimateFromReplicates(value: number, replicates: number[], level: number): Estimate {
  const sorted = Float64Array.from(replicates).sort();
  const alpha = 1 - level;
  return {
    value,
    lower: quantileSorted(sorted, alpha / 2),
    upper: quantileSorted(sorted, 1 - alpha / 2),
    se: sampleStd(sorted),
    level,
    resamples: sorted.length,
  };
}

function replicatesOf(n: number, statistic: ResampleStatistic, o: ResolvedOptions): number[] {
  const rng = new Rng(o.seed);
  const indices = new Int32Array(n);
  const out: number[] = [];
  for (let r = 0; r < o.resamples; r++) {
    for (let i = 0; i < n; i++) indices[i] = rng.nextInt(n);
    const v = statistic(indices);
    if (!Number.isNaN(v)) out.push(v);
  }
  return out;
}

function identity(n: number): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  return idx;
}

/** Percentile bootstrap of any statistic over n exchangeable units (pairs, prompts, responses). */
export function bootstrap(n: number, statistic: ResampleStatistic, options: BootstrapOptions): Estimate {
  if (!Number.isInteger(n) || n < 1) throw new EvaluationInputError('n', `bootstrap needs at least one unit, got ${n}`);
  const o = resolve(options);
  return estimateFromReplicates(statistic(identity(n)), replicatesOf(n, statistic, o), o.level);
}

/**
 * The resamples of one seed, drawn once and reused for several statistics of the same
 * units — exactly what separate `bootstrap` calls with that seed would draw, without
 * drawing it again for each figure (the RM report computes a dozen). Holds
 * resamples × n indices (4 bytes each).
 */
export class BootstrapResamples {
  private readonly options: ResolvedOptions;
  private readonly drawn: Int32Array[];

  constructor(readonly n: number, options: BootstrapOptions) {
    if (!Number.isInteger(n) || n < 1) throw new EvaluationInputError('n', `bootstrap needs at least one unit, got ${n}`);
    this.options = resolve(options);
    const rng = new Rng(this.options.seed);
    this.drawn = Array.from({ length: this.options.resamples }, () => {
      const indices = new Int32Array(n);
      for (let i = 0; i < n; i++) indices[i] = rng.nextInt(n);
      return indices;
    });
  }

  estimate(statistic: ResampleStatistic): Estimate {
    const replicates: number[] = [];
    for (const indices of this.drawn) {
      const v = statistic(indices);
      if (!Number.isNaN(v)) replicates.push(v);
    }
    return estimateFromReplicates(statistic(identity(this.n)), replicates, this.options.level);
  }
}

function meanAt(values: ArrayLike<number>, indices: Int32Array): number {
  let s = 0;
  for (let i = 0; i < indices.length; i++) s += values[indices[i]!]!;
  return s / indices.length;
}

/** Bootstrap interval of the mean of `values`. */
export function bootstrapMean(values: ArrayLike<number>, options: BootstrapOptions): Estimate {
  requireFinite('values', values);
  return bootstrap(values.length, (idx) => meanAt(values, idx), options);
}

export interface PairedDifference extends Estimate {
  /** share of replicates with a difference ≤ 0: a one-sided bootstrap p-value for "candidate > incumbent" */
  shareAtOrBelowZero: number;
}

/**
 * Paired bootstrap of statistic(candidate) − statistic(incumbent) over the same units
 * (the same prompts and sampling seeds): each resample draws unit indices once and uses
 * them for both, so prompt difficulty cancels and the interval is far tighter than two
 * independent ones. The statistic defaults to the mean; any other (e.g. a p90 length)
 * is applied to each side's resampled values.
 */
export function pairedBootstrap(
  candidate: ArrayLike<number>,
  incumbent: ArrayLike<number>,
  options: BootstrapOptions,
  statistic?: (values: Float64Array) => number,
): PairedDifference {
  requireFinite('candidate', candidate);
  requireFinite('incumbent', incumbent);
  requireSameLength('candidate', candidate, 'incumbent', incumbent);
  if (candidate.length === 0) throw new EvaluationInputError('candidate', 'paired bootstrap needs at least one unit');
  const o = resolve(options);
  let value: number;
  let replicates: number[];
  if (statistic === undefined) {
    // the mean of differences is the difference of means: one pass per resample
    const diff = Float64Array.from(candidate, (c, i) => c - incumbent[i]!);
    value = mean(diff);
    replicates = replicatesOf(diff.length, (idx) => meanAt(diff, idx), o);
  } else {
    const a = new Float64Array(candidate.length), b = new Float64Array(candidate.length);
    const difference = (idx: Int32Array): number => {
      for (let i = 0; i < idx.length; i++) {
        a[i] = candidate[idx[i]!]!;
        b[i] = incumbent[idx[i]!]!;
      }
      return statistic(a) - statistic(b);
    };
    value = statistic(Float64Array.from(candidate)) - statistic(Float64Array.from(incumbent));
    replicates = replicatesOf(candidate.length, difference, o);
  }
  const atOrBelow = replicates.reduce((k, v) => k + (v <= 0 ? 1 : 0), 0);
  return { ...estimateFromReplicates(value, replicates, o.level), shareAtOrBelowZero: atOrBelow / replicates.length };
}

/**
 * Bootstrap of a statistic of two independent samples (e.g. candidate and incumbent
 * responses that are not matched one to one): each resample redraws each group within
 * itself, so the group sizes stay fixed.
 */
export function twoSampleBootstrap(
  sizeA: number,
  sizeB: number,
  statistic: (indicesA: Int32Array, indicesB: Int32Array) => number,
  options: BootstrapOptions,
): Estimate {
  if (!Number.isInteger(sizeA) || sizeA < 1) throw new EvaluationInputError('sizeA', `needs at least one unit, got ${sizeA}`);
  if (!Number.isInteger(sizeB) || sizeB < 1) throw new EvaluationInputError('sizeB', `needs at least one unit, got ${sizeB}`);
  const o = resolve(options);
  const rng = new Rng(o.seed);
  const a = new Int32Array(sizeA);
  const b = new Int32Array(sizeB);
  const replicates: number[] = [];
  for (let r = 0; r < o.resamples; r++) {
    for (let i = 0; i < sizeA; i++) a[i] = rng.nextInt(sizeA);
    for (let i = 0; i < sizeB; i++) b[i] = rng.nextInt(sizeB);
    const v = statistic(a, b);
    if (!Number.isNaN(v)) replicates.push(v);
  }
  return estimateFromReplicates(statistic(identity(sizeA), identity(sizeB)), replicates, o.level);
}
