// Exact binomial tail, for the spam defence's disagreement test.

/** P(X ≥ k) for X ~ Binomial(n, p), computed in log space (no overflow for large n). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`binomialUpperTail: n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(k)) throw new RangeError(`binomialUpperTail: k must be an integer, got ${k}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`binomialUpperTail: p must be in [0, 1], got ${p}`);
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p === 0) return 0;
  if (p === 1) return 1;
  // Below the mean the terms of the upper tail first grow (and could overflow a
  // double relative to the first); use the complement, which is then a tail above
  // the mean of Y = n − X ~ Binomial(n, 1 − p): P(X ≥ k) = 1 − P(Y ≥ n − k + 1).
  if (k <= n * p) return Math.max(0, 1 - binomialUpperTail(n - k + 1, n, 1 - p));
  // log C(n, k) = Σ_{i=1..k} log((n − k + i) / i)
  let logChoose = 0;
  for (let i = 1; i <= k; i++) logChoose += Math.log((n - k + i) / i);
  const logP = Math.log(p);
  const logQ = Math.log1p(-p);
  let logPmf = logChoose + k * logP + (n - k) * logQ;
  // sum pmf(k..n) with the ratio pmf(i+1)/pmf(i) = (n−i)/(i+1) · p/q, scaled by the first term
  let sum = 1;
  let term = 1;
  for (let i = k; i < n; i++) {
    term *= ((n - i) / (i + 1)) * (p / (1 - p));
    sum += term;
    if (term < sum * 1e-17) break;
  }
  logPmf += Math.log(sum);
  return Math.min(1, Math.exp(logPmf));
}
