// Expected calibration error with equal-width bins (Naeini et al. 2015; Guo et al. 2017):
//   ECE = Σ_b (n_b / N) · |observed rate in b − mean predicted probability in b|
// Bin b covers [b/B, (b+1)/B); a probability of exactly 1 falls in the last bin.

import { EvaluationInputError, requireFinite, requireSameLength } from '../errors.js';

export interface CalibrationBin {
  lower: number;
  upper: number;
  count: number;
  meanProbability: number;
  observedRate: number;
}

export interface Calibration {
  ece: number;
  /** the non-empty bins, in order */
  bins: CalibrationBin[];
}

export const DEFAULT_CALIBRATION_BINS = 10;

/** `outcomes[i]` in [0, 1] is what happened (1 = the event the probability is for). */
export function expectedCalibrationError(probabilities: ArrayLike<number>, outcomes: ArrayLike<number>, binCount = DEFAULT_CALIBRATION_BINS): Calibration {
  requireFinite('probabilities', probabilities);
  requireFinite('outcomes', outcomes);
  requireSameLength('probabilities', probabilities, 'outcomes', outcomes);
  if (!Number.isInteger(binCount) || binCount < 1) throw new EvaluationInputError('binCount', `must be a positive integer, got ${binCount}`);
  const n = probabilities.length;
  if (n === 0) return { ece: Number.NaN, bins: [] };
  const count = new Float64Array(binCount);
  const sumP = new Float64Array(binCount);
  const sumY = new Float64Array(binCount);
  for (let i = 0; i < n; i++) {
    const p = probabilities[i]!;
    const y = outcomes[i]!;
    if (p < 0 || p > 1) throw new EvaluationInputError(`probabilities[${i}]`, `must be in [0, 1], got ${p}`);
    if (y < 0 || y > 1) throw new EvaluationInputError(`outcomes[${i}]`, `must be in [0, 1], got ${y}`);
    const b = Math.min(Math.floor(p * binCount), binCount - 1);
    count[b]! += 1;
    sumP[b]! += p;
    sumY[b]! += y;
  }
  const bins: CalibrationBin[] = [];
  let ece = 0;
  for (let b = 0; b < binCount; b++) {
    if (count[b] === 0) continue;
    const meanProbability = sumP[b]! / count[b]!;
    const observedRate = sumY[b]! / count[b]!;
    ece += (count[b]! / n) * Math.abs(observedRate - meanProbability);
    bins.push({ lower: b / binCount, upper: (b + 1) / binCount, count: count[b]!, meanProbability, observedRate });
  }
  return { ece, bins };
}
