// Reward-model ensembles (Coste et al. 2023, "Reward Model Ensembles Help Mitigate
// Overoptimization", arXiv:2310.02743). K members score the same response; PPO optimises
// one of three objectives over their scores r_1..r_K:
//   mean  (1/K) Σ_k r_k
//   UWO   mean − λ · Var_k(r_k)   uncertainty-weighted optimisation: penalise disagreement
//   WCO   min_k r_k               worst-case optimisation: optimise the most pessimistic member
// Var is the population variance over the K members (the spread of this ensemble, not an
// estimate of a wider one), so a single member has variance 0 and every objective is its score.

import { z } from 'zod';
import { EvaluationInputError, requireFinite } from '../../evaluation/errors.js';
import { mean, populationVariance, sampleStd } from '../../evaluation/statistics/index.js';

export const ensembleObjectiveSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('mean') }),
  z.strictObject({ kind: z.literal('uwo'), lambda: z.number().finite().nonnegative() }),
  z.strictObject({ kind: z.literal('wco') }),
]);
export type EnsembleObjective = z.infer<typeof ensembleObjectiveSchema>;

export interface MemberSpread {
  mean: number;
  /** population standard deviation over the members */
  std: number;
  variance: number;
  min: number;
  max: number;
}

/** The spread of one response's scores across the K members. */
export function memberSpread(memberScores: ArrayLike<number>): MemberSpread {
  if (memberScores.length === 0) throw new EvaluationInputError('memberScores', 'an ensemble needs at least one member');
  requireFinite('memberScores', memberScores);
  const variance = populationVariance(memberScores);
  let min = Infinity, max = -Infinity;
  for (let k = 0; k < memberScores.length; k++) {
    min = Math.min(min, memberScores[k]!);
    max = Math.max(max, memberScores[k]!);
  }
  return { mean: mean(memberScores), std: Math.sqrt(variance), variance, min, max };
}

export function objectiveOf(spread: MemberSpread, objective: EnsembleObjective): number {
  switch (objective.kind) {
    case 'mean':
      return spread.mean;
    case 'uwo':
      return spread.mean - objective.lambda * spread.variance;
    case 'wco':
      return spread.min;
  }
}

/** The objective for one response's member scores. */
export function ensembleObjective(memberScores: ArrayLike<number>, objective: EnsembleObjective): number {
  return objectiveOf(memberSpread(memberScores), objective);
}

export interface EnsembleScores {
  /** per response: mean over members */
  mean: Float64Array;
  /** per response: population std over members */
  std: Float64Array;
  /** per response: the chosen objective */
  objective: Float64Array;
  /** per member: mean and sample std of its scores over the responses (a member drifting off the others shows here) */
  members: { mean: number; std: number }[];
}

/** `scores[k][i]` is member k's score of response i. */
export function combineEnsemble(scores: readonly ArrayLike<number>[], objective: EnsembleObjective): EnsembleScores {
  const k = scores.length;
  if (k === 0) throw new EvaluationInputError('scores', 'an ensemble needs at least one member');
  const n = scores[0]!.length;
  scores.forEach((member, m) => {
    if (member.length !== n) throw new EvaluationInputError(`scores[${m}]`, `has ${member.length} scores, member 0 has ${n}`);
    requireFinite(`scores[${m}]`, member);
  });
  const out: EnsembleScores = {
    mean: new Float64Array(n),
    std: new Float64Array(n),
    objective: new Float64Array(n),
    members: scores.map((member) => ({ mean: mean(member), std: sampleStd(member) })),
  };
  const column = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let m = 0; m < k; m++) column[m] = scores[m]![i]!;
    const spread = memberSpread(column);
    out.mean[i] = spread.mean;
    out.std[i] = spread.std;
    out.objective[i] = objectiveOf(spread, objective);
  }
  return out;
}
