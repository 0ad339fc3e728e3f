// Rank correlations. Spearman's ρ is Pearson's r of the ranks, with tied values given
// the average of the ranks they span; Kendall's τ-b corrects τ for ties in either
// variable (Kendall 1945): τ_b = (n_c − n_d) / √((n_0 − n_1)(n_0 − n_2)), n_0 = n(n−1)/2,
// n_1, n_2 the pairs tied in x, in y. Both are NaN when a variable is constant.

import { requireFinite, requireSameLength } from '../errors.js';

/** Point indices grouped by equal value, groups in ascending order of value. */
function tieGroups(values: ArrayLike<number>): number[][] {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const groups: number[][] = [];
  for (let start = 0; start < order.length;) {
    let end = start + 1;
    while (end < order.length && values[order[end]!] === values[order[start]!]) end++;
    groups.push(order.slice(start, end));
    start = end;
  }
  return groups;
}

/**
 * Average ranks when point i occurs weights[i] times: a tie group of total multiplicity M
 * after `below` smaller occurrences gets rank below + (M + 1)/2. Unit weights give the
 * usual ranks 1..n.
 */
function weightedAverageRanks(groups: readonly number[][], weights: ArrayLike<number> | null, out: Float64Array): Float64Array {
  let below = 0;
  for (const group of groups) {
    let m = 0;
    for (const i of group) m += weights === null ? 1 : weights[i]!;
    const rank = below + (m + 1) / 2;
    for (const i of group) out[i] = rank;
    below += m;
  }
  return out;
}

/** Ranks 1..n; tied values share the average of their ranks. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  return weightedAverageRanks(tieGroups(values), null, new Float64Array(values.length));
}

/**
 * Spearman's ρ of the same points under many bootstrap resamples. It sorts once; each
 * resample, given as how many times each point was drawn, then costs O(n) instead of a
 * sort. `of(weights)` equals spearman() of the data with point i repeated weights[i]
 * times (the RM report's score–length correlation runs it 1000 times per report).
 */
export class ResampleSpearman {
  private readonly xGroups: number[][];
  private readonly yGroups: number[][];
  private readonly rx: Float64Array;
  private readonly ry: Float64Array;

  constructor(x: ArrayLike<number>, y: ArrayLike<number>) {
    requireFinite('x', x);
    requireFinite('y', y);
    requireSameLength('x', x, 'y', y);
    this.xGroups = tieGroups(x);
    this.yGroups = tieGroups(y);
    this.rx = new Float64Array(x.length);
    this.ry = new Float64Array(x.length);
  }

  of(weights: ArrayLike<number>): number {
    const rx = weightedAverageRanks(this.xGroups, weights, this.rx);
    const ry = weightedAverageRanks(this.yGroups, weights, this.ry);
    let n = 0;
    for (let i = 0; i < weights.length; i++) n += weights[i]!;
    const meanRank = (n + 1) / 2;
    let sxy = 0, sxx = 0, syy = 0;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i]!;
      if (w === 0) continue;
      const dx = rx[i]! - meanRank, dy = ry[i]! - meanRank;
      sxy += w * dx * dy;
      sxx += w * dx * dx;
      syy += w * dy * dy;
    }
    return sxx === 0 || syy === 0 ? Number.NaN : sxy / Math.sqrt(sxx * syy);
  }
}

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  requireFinite('x', x);
  requireFinite('y', y);
  requireSameLength('x', x, 'y', y);
  const n = x.length;
  if (n < 2) return Number.NaN;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += x[i]!; my += y[i]!; }
  mx /= n;
  my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx, dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? Number.NaN : sxy / Math.sqrt(sxx * syy);
}

export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  requireFinite('x', x);
  requireFinite('y', y);
  requireSameLength('x', x, 'y', y);
  return pearson(averageRanks(x), averageRanks(y));
}

/** Kendall's τ-b, O(n²): meant for checkpoints and eval sets, not millions of points. */
export function kendallTauB(x: ArrayLike<number>, y: ArrayLike<number>): number {
  requireFinite('x', x);
  requireFinite('y', y);
  requireSameLength('x', x, 'y', y);
  const n = x.length;
  let concordant = 0, discordant = 0, tiedX = 0, tiedY = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = Math.sign(x[j]! - x[i]!);
      const dy = Math.sign(y[j]! - y[i]!);
      if (dx === 0) tiedX++;
      if (dy === 0) tiedY++;
      if (dx !== 0 && dy !== 0) {
        if (dx === dy) concordant++;
        else discordant++;
      }
    }
  }
  const n0 = (n * (n - 1)) / 2;
  const denom = Math.sqrt((n0 - tiedX) * (n0 - tiedY));
  return denom === 0 ? Number.NaN : (concordant - discordant) / denom;
}
