// From the evaluation's and the divergence module's outputs to the metric record a
// promotion gate reads (the names of metrics.ts). What was not measured is left out —
// a rule that needs it then makes the verdict needs_review — and what does not apply is
// said with its reason (e.g. the Gao fit predicts no peak, so there is no d*² to compare
// the KL with).

import {
  type CheckpointEvaluation, type DisagreementTrend, type EvalChoice, type KlBudget, type LengthControlledGain,
  type LengthControlledWinRate, type OveroptimizationFit, chooseCheckpointByEval, detectRewardUpEvalDown,
} from '../divergence/index.js';
import { EvaluationInputError } from '../errors.js';
import type { Estimate } from '../statistics/index.js';
import type { SuiteComparison } from '../suites/evaluate-samples.js';
import type { GatePolicy } from './policy.js';
import { type MetricValue, type NotApplicable, type RuleDecision, isNotApplicable } from './rule-engine.js';

export interface PromotionEvidence {
  /** candidate vs incumbent on each eval suite (same prompts and seeds) */
  suites?: readonly SuiteComparison[];
  /** the RM's reward on the eval prompts, candidate − incumbent (paired) */
  proxyRewardDelta?: Estimate;
  lengthControlled?: LengthControlledGain;
  judge?: LengthControlledWinRate;
  /** the run's evaluated checkpoints, the candidate's step, and the eval metrics to watch for "reward up, eval down" */
  run?: { checkpoints: readonly CheckpointEvaluation[]; candidateStep: number; evalMetrics: readonly { metric: string; direction?: 'higher' | 'lower' }[] };
  /** the candidate's KL to this iteration's reference */
  candidateKl?: number;
  overoptimization?: OveroptimizationFit;
  klBudget?: KlBudget;
  /** the RM quality gate's decision on the reward model the candidate was trained against */
  rmQualityGate?: RuleDecision | NotApplicable;
  /** the trend across the run; null = fewer than two checkpoints carry it; NotApplicable = the RM is no ensemble */
  ensembleDisagreement?: DisagreementTrend | null | NotApplicable;
}

/** The metric record for a promotion gate. */
export function promotionGateMetrics(e: PromotionEvidence): Record<string, MetricValue> {
  const m: Record<string, MetricValue> = {};
  for (const s of e.suites ?? []) Object.assign(m, s.candidate.metrics, s.deltas);
  if (e.proxyRewardDelta) m['proxyReward.delta'] = e.proxyRewardDelta;
  if (e.lengthControlled) {
    m['lengthControlled.rewardGain'] = e.lengthControlled.binnedGain;
    m['lengthControlled.regressionGain'] = e.lengthControlled.regressionGain;
    m['lengthControlled.lengthShift'] = e.lengthControlled.lengthShift;
  }
  if (e.judge) {
    m['judge.winRate'] = e.judge.winRate;
    m['judge.lengthControlledWinRate'] = e.judge.lengthControlledWinRate;
  }
  if (e.run) {
    const { checkpoints, candidateStep, evalMetrics } = e.run;
    if (!checkpoints.some((c) => c.step === candidateStep)) throw new EvaluationInputError('run.candidateStep', `no evaluated checkpoint at step ${candidateStep}`);
    if (evalMetrics.length === 0) throw new EvaluationInputError('run.evalMetrics', 'name at least one eval metric to compare the reward with');
    m.rewardUpEvalDown = evalMetrics.some(({ metric, direction }) => detectRewardUpEvalDown(checkpoints, metric, { direction }).flagged.some((f) => f.step === candidateStep));
  }
  if (e.candidateKl !== undefined) {
    m['kl.toReference'] = e.candidateKl;
    if (e.overoptimization) {
      const peakKl = e.overoptimization.peakKl;
      const { form, beta, peakRise, noise } = e.overoptimization;
      m['kl.fractionOfPredictedPeak'] = peakKl === null
        ? { notApplicable: `the ${form} fit of eval vs √KL predicts no peak (β = ${beta.toFixed(4)} ≤ 0)` }
        // a curve that rises less than the checkpoints' own CI half-width before it falls is
        // fitted through noise: its d* says nothing about where the eval peaks (a falling
        // eval is the business of no-reward-up-eval-down and the suites' own rules)
        : peakRise !== null && noise !== null && peakRise <= noise
          ? { notApplicable: `the ${form} fit of eval vs √KL rises by ${peakRise.toFixed(4)} at its peak, within the checkpoints' CI half-width ${noise.toFixed(4)}: no peak beyond noise` }
          : e.candidateKl / peakKl;
    }
  }
  if (e.klBudget) m['kl.budgetExceeded'] = e.klBudget.exceeded ?? { notApplicable: 'no cumulative KL budget is configured' };
  if (e.rmQualityGate && isNotApplicable(e.rmQualityGate)) m['rmQualityGate.passed'] = e.rmQualityGate;
  else if (e.rmQualityGate) {
    const { verdict, missing } = e.rmQualityGate;
    m['rmQualityGate.passed'] = verdict === 'needs_review' ? { missing: `the RM quality gate needs review (missing: ${missing.join(', ')})` } : verdict === 'pass';
  }
  if (e.ensembleDisagreement && isNotApplicable(e.ensembleDisagreement)) {
    m['ensembleDisagreement.growth'] = e.ensembleDisagreement;
    m['ensembleDisagreement.risingBeyondCi'] = e.ensembleDisagreement;
  } else if (e.ensembleDisagreement !== undefined) {
    const t = e.ensembleDisagreement;
    const why = { missing: 'fewer than two checkpoints carry an ensemble disagreement' };
    m['ensembleDisagreement.growth'] = t ? t.relativeGrowth : why;
    m['ensembleDisagreement.risingBeyondCi'] = t ? t.risingBeyondCi : why;
  }
  return m;
}

/** The checkpoint to judge, chosen by the policy's eval metric with the 1-SE rule (not by reward). */
export function chooseCheckpoint(policy: GatePolicy, checkpoints: readonly CheckpointEvaluation[]): EvalChoice {
  if (!policy.checkpointChoice) throw new EvaluationInputError('policy.checkpointChoice', `policy ${policy.name} names no eval metric to choose a checkpoint by`);
  return chooseCheckpointByEval(checkpoints, policy.checkpointChoice.metric, { direction: policy.checkpointChoice.direction });
}

/**
 * The checkpoint to ship among a run's trained checkpoints (step > 0). The run's reference
 * is evaluated as step 0 (it anchors the Gao fit and the reward-vs-eval curve), but it is
 * not a candidate: shipping it is shipping nothing, and the comparison with the incumbent
 * says whether the best trained checkpoint is worth promoting.
 */
export function chooseTrainedCheckpoint(policy: GatePolicy, checkpoints: readonly CheckpointEvaluation[]): EvalChoice {
  const trained = checkpoints.filter((c) => c.step > 0);
  if (trained.length === 0) throw new EvaluationInputError('checkpoints', 'no trained checkpoint (step > 0) was evaluated');
  return chooseCheckpoint(policy, trained);
}
