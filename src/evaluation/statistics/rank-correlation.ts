// Rank correlations. Spearman's ρ is Pearson's r of the ranks, with tied values given
// the average of the ranks they span; Kendall's τ-b corrects τ for ties in either
// variable (Kendall 1945): τ_b = (n_c − n_d) / √((n_0 − n_1)(n_0 − n_2)), n_0 = n(n−1)/2,
// n_1, n_2 the pairs tied in x, in y. Both are NaN when a variable is constant.

import { requireFinite, requireSameLength } from '../errors.js';

/** Ranks 1..n; tied values share the average of their ranks. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && values[order[end]!] === values[order[start]!]) end++;
    const rank = (start + 1 + end) / 2; // mean of ranks start+1 .. end
    for (let k = start; k < end; k++) ranks[order[k]!] = rank;
    start = end;
  }
  return ranks;
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
