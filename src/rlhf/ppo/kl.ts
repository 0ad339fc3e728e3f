// KL estimators for KL(π ‖ π_ref) from tokens sampled from π (Schulman, "Approximating
// KL Divergence", 2020). With log r = log π_ref(a) − log π(a):
//   k1 = −log r            unbiased, high variance, negative on single samples;
//   k3 = (r − 1) − log r   unbiased, never negative, lower variance.
// The PPO reward uses k1 per token (the penalty is −β·k1, as in Ziegler et al. 2019);
// both are reported, because a run whose k1 mean is near 0 while k3 grows is drifting.

export function k1(logprob: number, refLogprob: number): number {
  return logprob - refLogprob;
}

export function k3(logprob: number, refLogprob: number): number {
  const logr = refLogprob - logprob;
  // expm1 keeps (r − 1) exact for small log r, where r − 1 would lose every digit.
  return Math.expm1(logr) - logr;
}

export interface KlSummary {
  /** Σ over each response's tokens, averaged over responses (nats per response). */
  k1: number;
  k3: number;
  /** Per-token means (nats per token). */
  k1PerToken: number;
  k3PerToken: number;
}

/** Sequence-level KL estimates of a batch: per-response sums, then the mean over responses. */
export function summarizeKl(rows: { logprobs: ArrayLike<number>; refLogprobs: ArrayLike<number> }[]): KlSummary {
  let s1 = 0;
  let s3 = 0;
  let tokens = 0;
  for (const r of rows) {
    for (let t = 0; t < r.logprobs.length; t++) {
      s1 += k1(r.logprobs[t]!, r.refLogprobs[t]!);
      s3 += k3(r.logprobs[t]!, r.refLogprobs[t]!);
    }
    tokens += r.logprobs.length;
  }
  const n = Math.max(rows.length, 1);
  return { k1: s1 / n, k3: s3 / n, k1PerToken: tokens ? s1 / tokens : 0, k3PerToken: tokens ? s3 / tokens : 0 };
}

/** Exact KL(p ‖ q) of two distributions given as log-probabilities over one vocabulary. */
export function exactKl(logp: ArrayLike<number>, logq: ArrayLike<number>): number {
  if (logp.length !== logq.length) throw new RangeError(`exactKl: vocabularies differ (${logp.length} vs ${logq.length})`);
  let kl = 0;
  for (let i = 0; i < logp.length; i++) {
    const p = Math.exp(logp[i]!);
    if (p > 0) kl += p * (logp[i]! - logq[i]!);
  }
  return kl;
}
