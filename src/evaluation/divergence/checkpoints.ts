// Divergence of proxy reward and evaluation across one run's checkpoints (Lambert &
// Calandra's objective mismatch; Gao et al. 2022, Fig. 1: proxy reward keeps rising while
// gold peaks and falls). Every function takes the run's evaluated checkpoints in order.
//
// Eval metrics are read as higher-is-better unless a function is told `direction: 'lower'`
// (e.g. a benign refusal rate); estimates are flipped internally so one code path serves both.

import { EvaluationInputError } from '../errors.js';
import { type Estimate, kendallTauB, leastSquares, spearman } from '../statistics/index.js';

export interface CheckpointEvaluation {
  step: number;
  /** mean KL to the run's reference policy (nats per response, from log-probs) */
  kl: number;
  /** the RM's mean score on the eval prompts */
  proxyReward: Estimate;
  /** eval metric name → estimate with its bootstrap CI */
  metrics: Readonly<Record<string, Estimate>>;
  /** mean std of the RM ensemble's members on this checkpoint's own samples */
  ensembleDisagreement?: Estimate;
}

export type Direction = 'higher' | 'lower';

/** The estimate as higher-is-better: a lower-is-better metric is negated and its bounds swapped. */
function oriented(e: Estimate, direction: Direction): Estimate {
  return direction === 'higher' ? e : { ...e, value: -e.value, lower: -e.upper, upper: -e.lower };
}

function metricOf(c: CheckpointEvaluation, index: number, metric: string, direction: Direction): Estimate {
  const e = c.metrics[metric];
  if (!e) throw new EvaluationInputError(`checkpoints[${index}].metrics.${metric}`, `checkpoint at step ${c.step} has no "${metric}" (has: ${Object.keys(c.metrics).join(', ') || 'none'})`);
  return oriented(e, direction);
}

/** The metric at every checkpoint (oriented higher-is-better) and the index of the best one (the first, on ties). */
function evalPeak(checkpoints: readonly CheckpointEvaluation[], metric: string, direction: Direction): { evals: Estimate[]; peak: number } {
  if (checkpoints.length === 0) throw new EvaluationInputError('checkpoints', 'needs at least one evaluated checkpoint');
  const evals = checkpoints.map((c, i) => metricOf(c, i, metric, direction));
  let peak = 0;
  evals.forEach((e, i) => { if (e.value > evals[peak]!.value) peak = i; });
  return { evals, peak };
}

export interface RankCorrelation {
  metric: string;
  /** checkpoints that have the metric */
  checkpoints: number;
  spearman: number;
  kendall: number;
}

/** Spearman and Kendall τ-b of the proxy reward with each eval metric across checkpoints (raw direction). */
export function rewardEvalRankCorrelations(checkpoints: readonly CheckpointEvaluation[]): RankCorrelation[] {
  const names = [...new Set(checkpoints.flatMap((c) => Object.keys(c.metrics)))].sort();
  return names.map((metric) => {
    const having = checkpoints.filter((c) => c.metrics[metric] !== undefined);
    const reward = having.map((c) => c.proxyReward.value);
    const evalValues = having.map((c) => c.metrics[metric]!.value);
    return { metric, checkpoints: having.length, spearman: spearman(reward, evalValues), kendall: kendallTauB(reward, evalValues) };
  });
}

export interface RewardUpEvalDown {
  metric: string;
  /** step with the best eval value */
  evalPeakStep: number;
  /** checkpoints whose proxy reward is above the peak's while their eval CI lies wholly below the peak's value */
  flagged: { step: number; rewardGain: number; evalDrop: number }[];
  detected: boolean;
}

/**
 * "Reward up, eval down": a checkpoint whose proxy reward is higher than at the eval peak
 * while its eval metric is lower beyond its CI — its whole interval lies below the
 * peak's point value, so the drop is not bootstrap noise.
 */
export function detectRewardUpEvalDown(checkpoints: readonly CheckpointEvaluation[], metric: string, options: { direction?: Direction } = {}): RewardUpEvalDown {
  const { evals, peak } = evalPeak(checkpoints, metric, options.direction ?? 'higher');
  const peakReward = checkpoints[peak]!.proxyReward.value;
  const flagged = checkpoints.flatMap((c, i) => (c.proxyReward.value > peakReward && evals[i]!.upper < evals[peak]!.value
    ? [{ step: c.step, rewardGain: c.proxyReward.value - peakReward, evalDrop: evals[peak]!.value - evals[i]!.value }]
    : []));
  return { metric, evalPeakStep: checkpoints[peak]!.step, flagged, detected: flagged.length > 0 };
}

export interface EvalChoice {
  metric: string;
  /** the checkpoint to ship */
  step: number;
  /** the checkpoint with the best eval value */
  bestStep: number;
  /** best value − its standard error: every checkpoint at or above it is as good within noise */
  threshold: number;
  eligibleSteps: number[];
}

/**
 * Chooses the checkpoint by eval with the one-standard-error rule (Breiman et al. 1984,
 * CART; Hastie et al., ESL §7.10): among checkpoints whose eval is within one standard
 * error of the best, take the most conservative — the least KL from the reference (then
 * the earliest step). A later checkpoint must beat the earlier one by more than noise to
 * be shipped, which keeps over-optimised checkpoints that are only lucky off production.
 */
export function chooseCheckpointByEval(checkpoints: readonly CheckpointEvaluation[], metric: string, options: { direction?: Direction } = {}): EvalChoice {
  const { evals, peak: best } = evalPeak(checkpoints, metric, options.direction ?? 'higher');
  const se = evals[best]!.se;
  if (!(se >= 0)) throw new EvaluationInputError(`checkpoints[${best}].metrics.${metric}.se`, `must be a non-negative standard error, got ${se}`);
  const threshold = evals[best]!.value - se;
  const eligible = checkpoints.map((_, i) => i).filter((i) => evals[i]!.value >= threshold);
  const chosen = eligible.reduce((a, b) => {
    const ca = checkpoints[a]!, cb = checkpoints[b]!;
    return cb.kl < ca.kl || (cb.kl === ca.kl && cb.step < ca.step) ? b : a;
  });
  return { metric, step: checkpoints[chosen]!.step, bestStep: checkpoints[best]!.step, threshold, eligibleSteps: eligible.map((i) => checkpoints[i]!.step) };
}

export interface DisagreementTrend {
  checkpoints: number;
  first: Estimate;
  last: Estimate;
  /** last − first */
  growth: number;
  /** last / first − 1; NaN when first is 0 */
  relativeGrowth: number;
  /** least-squares slope of disagreement per step */
  slopePerStep: number;
  spearmanWithStep: number;
  /** the last checkpoint's CI lies wholly above the first's: the policy is leaving the RM's support */
  risingBeyondCi: boolean;
}

/** Trend of RM ensemble disagreement on the policy's own samples across the run's checkpoints. */
export function ensembleDisagreementTrend(checkpoints: readonly CheckpointEvaluation[]): DisagreementTrend | null {
  const having = checkpoints.filter((c) => c.ensembleDisagreement !== undefined);
  if (having.length < 2) return null;
  const steps = having.map((c) => c.step);
  const values = having.map((c) => c.ensembleDisagreement!.value);
  const first = having[0]!.ensembleDisagreement!, last = having[having.length - 1]!.ensembleDisagreement!;
  const distinctSteps = new Set(steps).size > 1;
  return {
    checkpoints: having.length,
    first,
    last,
    growth: last.value - first.value,
    relativeGrowth: first.value === 0 ? Number.NaN : last.value / first.value - 1,
    slopePerStep: distinctSteps ? leastSquares(steps.map((s) => [1, s]), values, 'ensembleDisagreementTrend').coefficients[1]! : Number.NaN,
    spearmanWithStep: spearman(steps, values),
    risingBeyondCi: last.lower > first.upper,
  };
}
