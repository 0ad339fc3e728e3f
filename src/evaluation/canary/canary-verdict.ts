// The canary's verdict from what live users sent (issue #12 item 4): the always-valid
// mSPRT (sequential-test.ts; Johari, Pekelis & Walsh 2017) on the thumbs-up rate
// (canary vs production) and, where comparison mode pitted them head to head, on the
// pairwise win rate; guard metrics that roll back at once (Flagger's default checks:
// request success rate and latency); a sample budget and a time limit that end an
// undecided canary by rolling back (never promote without evidence).
import { pairwiseEffect, sequentialDecision, thumbsUpEffect, type SequentialDecision } from './sequential-test.js';

export interface CanaryObservation {
  thumbs: { production: { up: number; n: number }; canary: { up: number; n: number } };
  pairwise: { canaryWins: number; productionWins: number; ties: number };
  /** guard metrics of the canary's own traffic (null: not measured) */
  guards: GuardMetrics;
  /** the same figures of production's traffic over the same window: a guard breach
   *  counts only when the canary is also worse than production (Kayenta judges a canary
   *  against its baseline, so a loaded machine slowing both is not the canary's fault) */
  productionGuards?: GuardMetrics;
}

export interface GuardMetrics {
  errorRate: number | null;
  p99LatencyMs: number | null;
  benignRefusalRate: number | null;
}

export interface CanaryPolicy {
  /** bound on the false-promotion probability under continuous monitoring */
  alpha: number;
  /** mixing scale τ of the mSPRT (the effect size it is tuned to detect) */
  tau: number;
  /** no decision before this many observations per arm */
  minSamples: number;
  /** the sample budget: an undecided canary with this many canary observations rolls back */
  maxSamples: number;
  /** guard thresholds on the canary's traffic: any breach rolls back */
  maxErrorRate: number;
  maxP99LatencyMs: number;
  maxBenignRefusalRate: number;
}

export const DEFAULT_CANARY_POLICY: CanaryPolicy = {
  alpha: 0.05,
  tau: 0.1,
  minSamples: 30,
  maxSamples: 2000,
  maxErrorRate: 0.05,
  maxP99LatencyMs: 10_000,
  maxBenignRefusalRate: 0.2,
};

export type CanaryDecision = 'promote' | 'rollback' | 'continue';

export interface CanaryVerdict {
  decision: CanaryDecision;
  reason: string;
  thumbs: SequentialDecision;
  pairwise: SequentialDecision;
  /** canary observations so far (thumbs on canary answers + pairwise votes) */
  samples: number;
}

/**
 * One look at the canary. Rollback wins over promote: a breached guard or either test
 * showing the canary worse rolls back; a promotion needs one test to show it better
 * and neither to show it worse. `elapsedMs ≥ timeLimitMs` or the budget spent with
 * no decision rolls back.
 */
export function canaryVerdict(obs: CanaryObservation, policy: CanaryPolicy, elapsedMs: number, timeLimitMs: number): CanaryVerdict {
  const opts = { alpha: policy.alpha, tau: policy.tau, minSamples: policy.minSamples };
  const thumbs = sequentialDecision(thumbsUpEffect(obs.thumbs.production, obs.thumbs.canary), opts);
  const pairwise = sequentialDecision(pairwiseEffect(obs.pairwise), opts);
  const samples = obs.thumbs.canary.n + obs.pairwise.canaryWins + obs.pairwise.productionWins + obs.pairwise.ties;
  const verdict = (decision: CanaryDecision, reason: string): CanaryVerdict => ({ decision, reason, thumbs, pairwise, samples });

  const g = obs.guards;
  const p = obs.productionGuards;
  const breached = (key: keyof GuardMetrics, limit: number): boolean => {
    const canary = g[key];
    const production = p?.[key] ?? null;
    return canary !== null && canary > limit && (production === null || canary > production);
  };
  const vsProduction = (key: keyof GuardMetrics, digits: number) => (p?.[key] != null ? `, production ${p[key]!.toFixed(digits)}` : '');
  if (breached('errorRate', policy.maxErrorRate)) return verdict('rollback', `guard: 5xx rate ${g.errorRate!.toFixed(3)} > ${policy.maxErrorRate}${vsProduction('errorRate', 3)}`);
  if (breached('p99LatencyMs', policy.maxP99LatencyMs)) return verdict('rollback', `guard: p99 latency ${g.p99LatencyMs!.toFixed(0)} ms > ${policy.maxP99LatencyMs} ms${vsProduction('p99LatencyMs', 0)}`);
  if (breached('benignRefusalRate', policy.maxBenignRefusalRate)) {
    return verdict('rollback', `guard: benign refusal rate ${g.benignRefusalRate!.toFixed(3)} > ${policy.maxBenignRefusalRate}${vsProduction('benignRefusalRate', 3)}`);
  }
  if (thumbs.decision === 'rollback') return verdict('rollback', `thumbs-up rate worse (mSPRT Λ=${thumbs.likelihoodRatio.toFixed(1)} ≥ 1/α, Δ=${thumbs.effect.estimate.toFixed(3)})`);
  if (pairwise.decision === 'rollback') return verdict('rollback', `pairwise win rate worse (mSPRT Λ=${pairwise.likelihoodRatio.toFixed(1)} ≥ 1/α, Δ=${pairwise.effect.estimate.toFixed(3)})`);
  if (thumbs.decision === 'promote') return verdict('promote', `thumbs-up rate better (mSPRT Λ=${thumbs.likelihoodRatio.toFixed(1)} ≥ 1/α, Δ=${thumbs.effect.estimate.toFixed(3)})`);
  if (pairwise.decision === 'promote') return verdict('promote', `pairwise win rate better (mSPRT Λ=${pairwise.likelihoodRatio.toFixed(1)} ≥ 1/α, Δ=${pairwise.effect.estimate.toFixed(3)})`);
  if (samples >= policy.maxSamples) return verdict('rollback', `sample budget spent (${samples} ≥ ${policy.maxSamples}) without evidence the canary is better`);
  if (elapsedMs >= timeLimitMs) return verdict('rollback', `time limit reached (${Math.round(elapsedMs / 1000)} s) without evidence the canary is better`);
  return verdict('continue', `undecided after ${samples} canary observations`);
}
