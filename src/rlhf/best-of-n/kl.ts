// Best-of-n's distance from the policy it samples: KL(π_bon ‖ π) = log n − (n − 1)/n
// (Stiennon et al. 2020, appendix; used by Gao et al. 2022 to put best-of-n and RL on
// one √KL axis). An upper bound for any reward, exact when the rewards have no ties.

export function bestOfNKl(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`best-of-n needs an integer n ≥ 1, got ${n}`);
  return Math.log(n) - (n - 1) / n;
}
