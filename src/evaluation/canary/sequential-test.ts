// Canary analysis on live feedback, monitored continuously: after every batch of
// thumbs or pairwise votes the canary may be promoted, rolled back, or kept running.
// Looking after every observation breaks a fixed-n test (its false-positive rate grows
// with every peek), so the decision uses an always-valid test: the normal-mixture
// sequential probability ratio test (mSPRT; Robbins 1970, as made practical for A/B tests
// by Johari, Pekelis & Walsh 2017, "Always Valid Inference: Bringing Sequential Analysis
// to A/B Testing", §4). For an estimate θ̂ of the effect with variance s² and a mixing
// prior θ ~ N(0, τ²) the likelihood ratio against θ = 0 is
//   Λ = sqrt(s² / (s² + τ²)) · exp(θ̂² τ² / (2 s² (s² + τ²))),
// and stopping the first time Λ ≥ 1/α keeps the probability of ever rejecting a true
// null ≤ α, however often one looks (Ville's inequality). The normal approximation needs
// a few dozen observations per arm, hence a minimum sample size before any decision.

export interface Effect {
  /** θ̂: the canary's estimated advantage (positive: canary better). */
  estimate: number;
  /** s²: the variance of θ̂. */
  variance: number;
  /** Observations behind the estimate (per arm where there are two). */
  n: number;
}

/** Λ for an effect estimate under the N(0, τ²) mixture. */
export function mixtureLikelihoodRatio(effect: Effect, tau: number): number {
  const s2 = effect.variance;
  if (!(s2 > 0)) return 1; // no variance yet: no evidence either way
  const t2 = tau * tau;
  return Math.sqrt(s2 / (s2 + t2)) * Math.exp((effect.estimate * effect.estimate * t2) / (2 * s2 * (s2 + t2)));
}

/** Always-valid p-value after one look: min(1, 1/Λ); take the running minimum across looks. */
export function alwaysValidPValue(effect: Effect, tau: number): number {
  return Math.min(1, 1 / mixtureLikelihoodRatio(effect, tau));
}

/** Canary thumbs-up rate minus production's, from counts (two independent Bernoulli arms). */
export function thumbsUpEffect(production: { up: number; n: number }, canary: { up: number; n: number }): Effect {
  const pp = production.n ? production.up / production.n : 0;
  const pc = canary.n ? canary.up / canary.n : 0;
  // pooled variance under the null (the usual two-proportion z statistic), floored so a
  // run of identical votes does not claim zero variance
  const pooled = production.n + canary.n ? (production.up + canary.up) / (production.n + canary.n) : 0.5;
  const pv = Math.max(pooled * (1 - pooled), 1 / (4 * Math.max(production.n + canary.n, 1)));
  const variance = production.n && canary.n ? pv * (1 / production.n + 1 / canary.n) : Number.POSITIVE_INFINITY;
  return { estimate: pc - pp, variance, n: Math.min(production.n, canary.n) };
}

/** Canary's pairwise win rate minus ½ (ties count half), from head-to-head votes. */
export function pairwiseEffect(votes: { canaryWins: number; productionWins: number; ties: number }): Effect {
  const n = votes.canaryWins + votes.productionWins + votes.ties;
  if (n === 0) return { estimate: 0, variance: Number.POSITIVE_INFINITY, n: 0 };
  const mean = (votes.canaryWins + 0.5 * votes.ties) / n;
  // per-vote scores are 1, ½, 0; their variance about the mean
  const ss = votes.canaryWins * (1 - mean) ** 2 + votes.ties * (0.5 - mean) ** 2 + votes.productionWins * mean ** 2;
  const perVote = Math.max(n > 1 ? ss / (n - 1) : 0.25, 1 / (4 * n));
  return { estimate: mean - 0.5, variance: perVote / n, n };
}

export interface SequentialDecisionOptions {
  /** Bound on the probability of a false promotion (and, separately, a false rollback on the metric). */
  alpha: number;
  /** Mixing scale τ of the prior on the effect (the size of effect the test is tuned to find). */
  tau: number;
  /** No decision before this many observations (per arm). */
  minSamples: number;
}

export type SequentialDecision = { decision: 'promote' | 'rollback' | 'continue'; likelihoodRatio: number; pValue: number; effect: Effect };

/**
 * One look: `promote` once the canary is shown better (Λ ≥ 1/α with θ̂ > 0), `rollback`
 * once it is shown worse (Λ ≥ 1/α with θ̂ < 0), else `continue`. The two-sided Λ bounds
 * each one-sided error by α.
 */
export function sequentialDecision(effect: Effect, opts: SequentialDecisionOptions): SequentialDecision {
  const lr = mixtureLikelihoodRatio(effect, opts.tau);
  const pValue = Math.min(1, 1 / lr);
  if (effect.n < opts.minSamples || !Number.isFinite(effect.variance)) return { decision: 'continue', likelihoodRatio: lr, pValue, effect };
  if (lr >= 1 / opts.alpha) return { decision: effect.estimate > 0 ? 'promote' : 'rollback', likelihoodRatio: lr, pValue, effect };
  return { decision: 'continue', likelihoodRatio: lr, pValue, effect };
}
