// The cumulative KL budget of iterated RLHF. Each iteration's PPO is held near its own
// reference (the policy in production when it started), so every step can be small while
// the chain drifts far from the original base policy. The budget therefore counts the KL
// of every promotion so far plus the candidate's: Σ_i KL(π_i ‖ π_{i−1}). KL is not a
// metric, so the sum is an accounting figure, not the KL to the base; when that KL is
// measured directly (log-probs of the base policy on the candidate's samples) the larger
// of the two is what is spent.

import { EvaluationInputError, requireFinite } from '../errors.js';

export interface KlBudgetInput {
  /** KL of each promoted policy to the policy it replaced, oldest first (nats) */
  promotedKl: readonly number[];
  /** the candidate's KL to this iteration's reference */
  candidateKl: number;
  /** the candidate's KL to the original base policy, when measured */
  candidateKlToBase?: number;
  /** total KL allowed from the base policy; omit for accounting only */
  budget?: number;
}

export interface KlBudget {
  /** Σ promoted + candidate */
  cumulative: number;
  /** what counts against the budget: max(cumulative, measured KL to base) */
  spent: number;
  budget: number | null;
  remaining: number | null;
  exceeded: boolean | null;
}

export function klBudget(input: KlBudgetInput): KlBudget {
  requireFinite('promotedKl', input.promotedKl);
  requireFinite('candidateKl', [input.candidateKl]);
  const nonNegative = (field: string, v: number): void => {
    if (v < 0) throw new EvaluationInputError(field, `KL must be ≥ 0, got ${v}`);
  };
  input.promotedKl.forEach((v, i) => nonNegative(`promotedKl[${i}]`, v));
  nonNegative('candidateKl', input.candidateKl);
  if (input.candidateKlToBase !== undefined) {
    requireFinite('candidateKlToBase', [input.candidateKlToBase]);
    nonNegative('candidateKlToBase', input.candidateKlToBase);
  }
  if (input.budget !== undefined && !(input.budget > 0)) throw new EvaluationInputError('budget', `must be a positive number, got ${input.budget}`);
  const cumulative = input.promotedKl.reduce((s, v) => s + v, 0) + input.candidateKl;
  const spent = Math.max(cumulative, input.candidateKlToBase ?? 0);
  const budget = input.budget ?? null;
  return {
    cumulative,
    spent,
    budget,
    remaining: budget === null ? null : budget - spent,
    exceeded: budget === null ? null : spent > budget,
  };
}
