// The reward-model evaluation report: what every RM version is stored with, computed from
// plain data — the held-out pairs' lengths and the members' scores — so it is testable
// without a model. Every figure carries a seeded bootstrap CI over pairs.
//
// - accuracy: share of held-out pairs where the RM scores chosen above rejected (a tied
//   score counts ½), overall and per feedback source; the RM's score is its ensemble mean
// - calibration: ECE of σ(r_c − r_r) against the held-out outcome. Each pair is counted in
//   both orientations — (σ(r_c − r_r), 1) and (σ(r_r − r_c), 0) — since "chosen" is a
//   labelling, not an event the RM can be calibrated to predict with outcome always 1
// - length sensitivity (Singhal et al. 2023, "A Long Way to Go: Investigating Length
//   Correlations in RLHF"): Spearman of score with response length over all held-out
//   responses; the share of unequal-length pairs whose longer response is the chosen one
//   (how far "longer wins" alone decides the data) and the RM's own rate of scoring the
//   longer one higher; the RM's accuracy on length-matched pairs, where length cannot help
// - agreement with the previous production RM on the same pairs (same sign of r_c − r_r)
// - ensemble disagreement: mean over held-out responses of the members' std
// - gold accuracy (reference scenario only): agreement with gold-utility labels

import { EvaluationInputError, requireFinite } from '../../evaluation/errors.js';
import {
  type BootstrapOptions, type Estimate, BootstrapResamples, ResampleSpearman, expectedCalibrationError, sigmoid,
  DEFAULT_CALIBRATION_BINS,
} from '../../evaluation/statistics/index.js';
import { memberSpread } from './ensemble.js';

export type FeedbackSource = 'pairwise' | 'edit' | 'rating' | 'thumbs';
export const FEEDBACK_SOURCES: readonly FeedbackSource[] = ['pairwise', 'edit', 'rating', 'thumbs'];

export interface HeldOutPairScores {
  source: FeedbackSource;
  /** response lengths in tokens (or words — the same unit for every pair) */
  chosenLength: number;
  rejectedLength: number;
  /** one score per ensemble member (K ≥ 1, the same K for every pair) */
  scoreChosen: readonly number[];
  scoreRejected: readonly number[];
  /** the previous production RM's scores of the same two responses */
  previousScoreChosen?: number;
  previousScoreRejected?: number;
  /** reference scenario only: gold's label — 1 chosen is better, −1 rejected is, 0 a tie */
  goldPreference?: 1 | 0 | -1;
}

export interface RewardModelReportOptions extends BootstrapOptions {
  /** a pair is length-matched when |ℓ_c − ℓ_r| ≤ tolerance · max(ℓ_c, ℓ_r); default 0.1 */
  lengthMatchTolerance?: number;
  calibrationBins?: number;
}

export interface RewardModelReport {
  pairs: number;
  members: number;
  accuracy: Estimate;
  /** null for a source without held-out pairs */
  accuracyBySource: Record<FeedbackSource, Estimate | null>;
  pairsBySource: Record<FeedbackSource, number>;
  ece: Estimate;
  length: {
    scoreLengthSpearman: Estimate;
    /** share of unequal-length pairs whose chosen response is the longer one */
    longerChosenShare: Estimate | null;
    /** share of unequal-length pairs where the RM scores the longer response higher */
    rmPrefersLongerShare: Estimate | null;
    lengthMatchedAccuracy: Estimate | null;
    lengthMatchedPairs: number;
  };
  /** null when no pair has the previous RM's scores */
  agreementWithPrevious: Estimate | null;
  /** null for a single-member RM */
  ensembleDisagreement: Estimate | null;
  /** null when no pair has a decisive gold label */
  goldAccuracy: Estimate | null;
}

export const DEFAULT_LENGTH_MATCH_TOLERANCE = 0.1;

/** 1 when the sign agrees with the preferred direction, ½ for a tied score, 0 otherwise. */
const correctness = (margin: number): number => (margin > 0 ? 1 : margin < 0 ? 0 : 0.5);

function validatePairs(pairs: readonly HeldOutPairScores[]): number {
  if (pairs.length === 0) throw new EvaluationInputError('pairs', 'the report needs at least one held-out pair');
  const members = pairs[0]!.scoreChosen.length;
  pairs.forEach((p, i) => {
    const at = `pairs[${i}]`;
    if (!FEEDBACK_SOURCES.includes(p.source)) throw new EvaluationInputError(`${at}.source`, `must be one of ${FEEDBACK_SOURCES.join(', ')}, got ${String(p.source)}`);
    for (const f of ['chosenLength', 'rejectedLength'] as const) {
      if (!(Number.isFinite(p[f]) && p[f] >= 0)) throw new EvaluationInputError(`${at}.${f}`, `must be a non-negative number, got ${p[f]}`);
    }
    for (const f of ['scoreChosen', 'scoreRejected'] as const) {
      if (p[f].length !== members || members === 0) throw new EvaluationInputError(`${at}.${f}`, `has ${p[f].length} member scores, pairs[0] has ${members} (need the same K ≥ 1)`);
      requireFinite(`${at}.${f}`, p[f]);
    }
    const hasPrevC = p.previousScoreChosen !== undefined, hasPrevR = p.previousScoreRejected !== undefined;
    if (hasPrevC !== hasPrevR) throw new EvaluationInputError(`${at}.previousScore${hasPrevC ? 'Rejected' : 'Chosen'}`, 'the previous RM needs both scores of a pair or neither');
    if (hasPrevC) requireFinite(`${at}.previousScore`, [p.previousScoreChosen!, p.previousScoreRejected!]);
    if (p.goldPreference !== undefined && ![1, 0, -1].includes(p.goldPreference)) throw new EvaluationInputError(`${at}.goldPreference`, `must be 1, 0 or −1, got ${p.goldPreference}`);
  });
  return members;
}

/**
 * Bootstrap of the mean of `values` over the units where it is defined (non-NaN); null
 * when it is defined nowhere. A resample that draws no defined unit is dropped.
 */
function meanWhereDefined(values: Float64Array, resamples: BootstrapResamples): Estimate | null {
  if (values.every(Number.isNaN)) return null;
  return resamples.estimate((idx) => {
    let s = 0, k = 0;
    for (let i = 0; i < idx.length; i++) {
      const v = values[idx[i]!]!;
      if (!Number.isNaN(v)) { s += v; k++; }
    }
    return k === 0 ? Number.NaN : s / k;
  });
}

export function rewardModelReport(pairs: readonly HeldOutPairScores[], options: RewardModelReportOptions): RewardModelReport {
  const members = validatePairs(pairs);
  const tolerance = options.lengthMatchTolerance ?? DEFAULT_LENGTH_MATCH_TOLERANCE;
  if (!(tolerance >= 0)) throw new EvaluationInputError('options.lengthMatchTolerance', `must be ≥ 0, got ${tolerance}`);
  const bins = options.calibrationBins ?? DEFAULT_CALIBRATION_BINS;
  const n = pairs.length;
  // one set of resamples for every figure: the same pairs drawn for each, drawn once
  const boot = new BootstrapResamples(n, { seed: options.seed, resamples: options.resamples, level: options.level });

  const chosen = pairs.map((p) => memberSpread(p.scoreChosen));
  const rejected = pairs.map((p) => memberSpread(p.scoreRejected));
  const margin = Float64Array.from(pairs, (_, i) => chosen[i]!.mean - rejected[i]!.mean);
  const correct = margin.map(correctness);
  const only = (keep: (i: number) => boolean, value: (i: number) => number): Float64Array => Float64Array.from(pairs, (_, i) => (keep(i) ? value(i) : Number.NaN));

  const accuracyBySource = {} as Record<FeedbackSource, Estimate | null>;
  const pairsBySource = {} as Record<FeedbackSource, number>;
  for (const source of FEEDBACK_SOURCES) {
    pairsBySource[source] = pairs.filter((p) => p.source === source).length;
    accuracyBySource[source] = meanWhereDefined(only((i) => pairs[i]!.source === source, (i) => correct[i]!), boot);
  }

  const probability = Float64Array.from(margin, sigmoid);
  const ece = boot.estimate((idx) => {
    const p = new Float64Array(2 * idx.length), y = new Float64Array(2 * idx.length);
    for (let i = 0; i < idx.length; i++) {
      p[2 * i] = probability[idx[i]!]!;
      y[2 * i] = 1;
      p[2 * i + 1] = 1 - probability[idx[i]!]!;
      y[2 * i + 1] = 0;
    }
    return expectedCalibrationError(p, y, bins).ece;
  });

  // responses 2j (chosen) and 2j + 1 (rejected) of pair j; a resample weights both by the pair's draws
  const responseScores = Float64Array.from({ length: 2 * n }, (_, r) => (r % 2 === 0 ? chosen[r >> 1]! : rejected[r >> 1]!).mean);
  const responseLengths = Float64Array.from({ length: 2 * n }, (_, r) => (r % 2 === 0 ? pairs[r >> 1]!.chosenLength : pairs[r >> 1]!.rejectedLength));
  const scoreLength = new ResampleSpearman(responseScores, responseLengths);
  const draws = new Float64Array(2 * n);
  const scoreLengthSpearman = boot.estimate((idx) => {
    draws.fill(0);
    for (const j of idx) {
      draws[2 * j]! += 1;
      draws[2 * j + 1]! += 1;
    }
    return scoreLength.of(draws);
  });

  const lengthGap = Float64Array.from(pairs, (p) => p.chosenLength - p.rejectedLength);
  const unequal = (i: number): boolean => lengthGap[i] !== 0;
  const matched = (i: number): boolean => Math.abs(lengthGap[i]!) <= tolerance * Math.max(pairs[i]!.chosenLength, pairs[i]!.rejectedLength);
  const hasPrevious = (i: number): boolean => pairs[i]!.previousScoreChosen !== undefined;
  const gold = (i: number): number => pairs[i]!.goldPreference ?? 0;

  return {
    pairs: n,
    members,
    accuracy: meanWhereDefined(correct, boot)!,
    accuracyBySource,
    pairsBySource,
    ece,
    length: {
      scoreLengthSpearman,
      longerChosenShare: meanWhereDefined(only(unequal, (i) => (lengthGap[i]! > 0 ? 1 : 0)), boot),
      rmPrefersLongerShare: meanWhereDefined(only(unequal, (i) => correctness(Math.sign(lengthGap[i]!) * margin[i]!)), boot),
      lengthMatchedAccuracy: meanWhereDefined(only(matched, (i) => correct[i]!), boot),
      lengthMatchedPairs: pairs.filter((_, i) => matched(i)).length,
    },
    agreementWithPrevious: meanWhereDefined(only(hasPrevious, (i) => {
      const previousMargin = pairs[i]!.previousScoreChosen! - pairs[i]!.previousScoreRejected!;
      return Math.sign(previousMargin) === Math.sign(margin[i]!) ? 1 : 0;
    }), boot),
    ensembleDisagreement: members < 2 ? null : meanWhereDefined(Float64Array.from(pairs, (_, i) => (chosen[i]!.std + rejected[i]!.std) / 2), boot),
    goldAccuracy: meanWhereDefined(only((i) => gold(i) !== 0, (i) => correctness(gold(i) * margin[i]!)), boot),
  };
}
