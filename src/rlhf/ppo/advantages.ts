// Per-token rewards, GAE and whitening for one PPO rollout batch — the arithmetic
// between a rollout and the update, on plain arrays (one entry per generated token of
// one response; responses have their own lengths, so there is no padding to mask).
//
// The shape follows the strongest open implementations: the per-token reward is the KL
// penalty −β·(log π − log π_ref) at every generated token plus the RM score at the last
// one (Ziegler et al. 2019; Stiennon et al. 2020; TRL's PPOTrainer and OpenRLHF's
// `compute_reward`), then GAE (Schulman et al. 2016) with γ = 1, λ = 0.95 by default, and
// advantages whitened over the whole batch ("The N Implementation Details of RLHF with
// PPO", Huang et al. 2023, detail "advantage whitening").

/** One response of a rollout batch, token-aligned: index t is the t-th generated token. */
export interface RolloutTokens {
  /** log π_old(a_t | s_t) under the policy that sampled the rollout. */
  logprobs: ArrayLike<number>;
  /** log π_ref(a_t | s_t) under the frozen reference policy. */
  refLogprobs: ArrayLike<number>;
  /** V(s_t) from the value head at sampling time. */
  values: ArrayLike<number>;
  /** The reward model's score for the whole response (applied at the final token). */
  score: number;
}

export interface RewardShaping {
  /** KL coefficient β (the adaptive controller's current value). */
  klCoef: number;
}

/** r_t = −β·(log π − log π_ref)_t, plus the score at the last token. */
export function perTokenRewards(row: RolloutTokens, shaping: RewardShaping): Float64Array {
  const T = row.logprobs.length;
  if (row.refLogprobs.length !== T || row.values.length !== T) {
    throw new RangeError(`rollout row lengths differ: logprobs ${T}, refLogprobs ${row.refLogprobs.length}, values ${row.values.length}`);
  }
  const r = new Float64Array(T);
  for (let t = 0; t < T; t++) r[t] = -shaping.klCoef * (row.logprobs[t]! - row.refLogprobs[t]!);
  if (T > 0) r[T - 1] = r[T - 1]! + row.score;
  return r;
}

export interface GaeOptions {
  /** Discount γ (1: the episode is one response). */
  gamma: number;
  /** GAE λ. */
  lambda: number;
}

export const DEFAULT_GAE: GaeOptions = { gamma: 1, lambda: 0.95 };

/**
 * Generalized advantage estimation over one response (Schulman et al. 2016, eq. 16):
 * δ_t = r_t + γ·V(s_{t+1}) − V(s_t), with V = 0 after the last token (the episode ends);
 * A_t = Σ_k (γλ)^k δ_{t+k}; returns R_t = A_t + V(s_t) are the value head's targets.
 */
export function gae(rewards: ArrayLike<number>, values: ArrayLike<number>, opts: GaeOptions = DEFAULT_GAE): { advantages: Float64Array; returns: Float64Array } {
  const T = rewards.length;
  if (values.length !== T) throw new RangeError(`gae: ${T} rewards but ${values.length} values`);
  const advantages = new Float64Array(T);
  const returns = new Float64Array(T);
  let last = 0;
  for (let t = T - 1; t >= 0; t--) {
    const next = t + 1 < T ? values[t + 1]! : 0;
    const delta = rewards[t]! + opts.gamma * next - values[t]!;
    last = delta + opts.gamma * opts.lambda * last;
    advantages[t] = last;
    returns[t] = last + values[t]!;
  }
  return { advantages, returns };
}

/**
 * Whitens every token's advantage over the whole batch: (A − mean) / sqrt(var + ε), with
 * the unbiased variance (as TRL's `masked_whiten`). `shiftMean: false` adds the mean back,
 * keeping the advantages' sign structure (used for rewards, not for advantages).
 */
export function whiten(rows: Float64Array[], opts: { shiftMean?: boolean; eps?: number } = {}): Float64Array[] {
  let n = 0;
  let sum = 0;
  for (const r of rows) for (let i = 0; i < r.length; i++) (sum += r[i]!), n++;
  if (n < 2) return rows.map((r) => Float64Array.from(r));
  const mean = sum / n;
  let ss = 0;
  for (const r of rows) for (let i = 0; i < r.length; i++) ss += (r[i]! - mean) ** 2;
  const variance = ss / (n - 1);
  const scale = 1 / Math.sqrt(variance + (opts.eps ?? 1e-8));
  const shift = opts.shiftMean === false ? mean : 0;
  return rows.map((r) => r.map((x) => (x - mean) * scale + shift));
}

export interface BatchAdvantages {
  /** Whitened advantages per response, token-aligned. */
  advantages: Float64Array[];
  /** Value targets per response (before whitening: the return is in reward units). */
  returns: Float64Array[];
  /** Per-token rewards per response (KL penalty + score). */
  rewards: Float64Array[];
}

/** The whole step for a batch: rewards, GAE per response, whitening across the batch. */
export function batchAdvantages(rows: RolloutTokens[], shaping: RewardShaping, opts: GaeOptions = DEFAULT_GAE): BatchAdvantages {
  const rewards = rows.map((r) => perTokenRewards(r, shaping));
  const per = rows.map((r, i) => gae(rewards[i]!, r.values, opts));
  return { advantages: whiten(per.map((p) => p.advantages)), returns: per.map((p) => p.returns), rewards };
}
