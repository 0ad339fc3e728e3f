// Length control: how much of a candidate's gain survives once response length is held
// fixed. An RM that learned "longer is better" (Singhal et al. 2023, "A Long Way to Go:
// Investigating Length Correlations in RLHF") hands a policy reward for growing; that
// part of the gain is not quality.
//
// - lengthControlledRewardGain: the RM reward gain of candidate over incumbent samples
//   (a) within length strata — per bin of the pooled length distribution, the difference
//   of mean rewards, averaged with the bins' pooled weights over bins where both are
//   present (Singhal et al. §3 condition on length the same way) — and (b) by regression,
//   reward ~ 1 + length + candidate, the candidate coefficient. For a reward that is a
//   function of length alone both are ≈ 0; (b) is exact only when that function is linear.
// - lengthControlledWinRate: AlpacaEval's length-controlled win rate (Dubois et al. 2024,
//   "Length-Controlled AlpacaEval: A Simple Way to Debias Automatic Evaluators"): a
//   logistic regression of the judge's preference on tanh(Δlength / sd(Δlength)); the LC
//   win rate is the predicted preference at Δlength = 0, σ(θ). Their per-instruction
//   difficulty term needs many models on one benchmark and is left out here.

import { EvaluationInputError, requireFinite } from '../errors.js';
import {
  type BootstrapOptions, type Estimate, bootstrap, leastSquares, logisticRegression, mean, quantileSorted,
  sampleStd, sigmoid, twoSampleBootstrap,
} from '../statistics/index.js';

export interface LengthScoredResponse {
  reward: number;
  /** tokens or words, the same unit on both sides */
  length: number;
}

export interface LengthControlledGain {
  /** mean reward(candidate) − mean reward(incumbent) */
  rawGain: Estimate;
  /** gain within length strata */
  binnedGain: Estimate;
  /** candidate coefficient of reward ~ 1 + length + candidate */
  regressionGain: Estimate;
  /** mean length(candidate) − mean length(incumbent) */
  lengthShift: Estimate;
  /** strata used (bins with both candidate and incumbent responses) */
  strata: number;
}

export const DEFAULT_LENGTH_BINS = 10;

function validateResponses(field: string, responses: readonly LengthScoredResponse[]): void {
  if (responses.length === 0) throw new EvaluationInputError(field, 'needs at least one response');
  responses.forEach((r, i) => requireFinite(`${field}[${i}]`, [r.reward, r.length]));
}

/** Upper edges of up to `bins` strata: quantiles of the pooled lengths, deduplicated (many tied lengths → fewer strata). */
function strataEdges(lengths: readonly number[], bins: number): number[] {
  const sorted = Float64Array.from(lengths).sort();
  const edges = new Set<number>();
  for (let b = 1; b < bins; b++) edges.add(quantileSorted(sorted, b / bins));
  edges.add(sorted[sorted.length - 1]!);
  return [...edges].sort((a, b) => a - b);
}

const stratumOf = (edges: readonly number[], length: number): number => {
  let lo = 0, hi = edges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (length <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
};

export function lengthControlledRewardGain(
  incumbent: readonly LengthScoredResponse[],
  candidate: readonly LengthScoredResponse[],
  options: BootstrapOptions & { bins?: number },
): LengthControlledGain {
  validateResponses('incumbent', incumbent);
  validateResponses('candidate', candidate);
  const bins = options.bins ?? DEFAULT_LENGTH_BINS;
  if (!Number.isInteger(bins) || bins < 1) throw new EvaluationInputError('options.bins', `must be a positive integer, got ${bins}`);
  const boot: BootstrapOptions = { seed: options.seed, resamples: options.resamples, level: options.level };
  const edges = strataEdges([...incumbent, ...candidate].map((r) => r.length), bins);
  const inStratum = (rs: readonly LengthScoredResponse[]): Int32Array => Int32Array.from(rs, (r) => stratumOf(edges, r.length));
  const sInc = inStratum(incumbent), sCand = inStratum(candidate);

  const mapped = (rs: readonly LengthScoredResponse[], idx: Int32Array, f: (r: LengthScoredResponse) => number): number[] => Array.from(idx, (i) => f(rs[i]!));
  const binned = (a: Int32Array, b: Int32Array): number => {
    const k = edges.length;
    const incSum = new Float64Array(k), incCount = new Float64Array(k), candSum = new Float64Array(k), candCount = new Float64Array(k);
    for (const i of a) { incSum[sInc[i]!]! += incumbent[i]!.reward; incCount[sInc[i]!]! += 1; }
    for (const i of b) { candSum[sCand[i]!]! += candidate[i]!.reward; candCount[sCand[i]!]! += 1; }
    let total = 0, weight = 0;
    for (let s = 0; s < k; s++) {
      if (incCount[s] === 0 || candCount[s] === 0) continue; // length is not comparable here
      const w = incCount[s]! + candCount[s]!;
      total += w * (candSum[s]! / candCount[s]! - incSum[s]! / incCount[s]!);
      weight += w;
    }
    return weight === 0 ? Number.NaN : total / weight;
  };
  const regression = (a: Int32Array, b: Int32Array): number => {
    const rows = [...Array.from(a, (i) => [1, incumbent[i]!.length, 0]), ...Array.from(b, (i) => [1, candidate[i]!.length, 1])];
    const y = [...mapped(incumbent, a, (r) => r.reward), ...mapped(candidate, b, (r) => r.reward)];
    try {
      return leastSquares(rows, y, 'lengthControlledRewardGain').coefficients[2]!;
    } catch (e) {
      // a resample with one distinct length (or one group) cannot separate length from group
      if (e instanceof EvaluationInputError && e.code === 'collinear') return Number.NaN;
      throw e;
    }
  };
  const diffOf = (f: (r: LengthScoredResponse) => number) => (a: Int32Array, b: Int32Array): number => mean(mapped(candidate, b, f)) - mean(mapped(incumbent, a, f));

  const incumbentStrata = new Set(sInc);
  const strataUsed = new Set(Array.from(sCand).filter((s) => incumbentStrata.has(s))).size;
  if (strataUsed === 0) throw new EvaluationInputError('candidate', 'no length stratum holds both candidate and incumbent responses; length cannot be controlled for');
  const gain = (stat: (a: Int32Array, b: Int32Array) => number): Estimate => twoSampleBootstrap(incumbent.length, candidate.length, stat, boot);
  return {
    rawGain: gain(diffOf((r) => r.reward)),
    binnedGain: gain(binned),
    regressionGain: gain(regression),
    lengthShift: gain(diffOf((r) => r.length)),
    strata: strataUsed,
  };
}

export interface JudgedComparison {
  /** the judge's preference for the candidate's response over the incumbent's, in [0, 1] (1 = candidate; soft: σ(judge margin)) */
  preference: number;
  candidateLength: number;
  incumbentLength: number;
}

export interface LengthControlledWinRate {
  /** mean judge preference */
  winRate: Estimate;
  /** σ(θ): predicted preference at equal length */
  lengthControlledWinRate: Estimate;
  /** φ, the weight of tanh(Δlength / sd): > 0 when the judge favours the longer response */
  lengthCoefficient: number;
  /** sd of the length differences used to scale them */
  lengthDifferenceScale: number;
}

// A tiny ridge keeps the fit finite when the judge's preferences are perfectly separated by length.
const LC_RIDGE = 1e-4;

/** Length-controlled win rate of the candidate against the incumbent on the same prompts, with bootstrap CIs over prompts. */
export function lengthControlledWinRate(comparisons: readonly JudgedComparison[], options: BootstrapOptions): LengthControlledWinRate {
  if (comparisons.length === 0) throw new EvaluationInputError('comparisons', 'needs at least one judged comparison');
  comparisons.forEach((c, i) => {
    requireFinite(`comparisons[${i}]`, [c.preference, c.candidateLength, c.incumbentLength]);
    if (c.preference < 0 || c.preference > 1) throw new EvaluationInputError(`comparisons[${i}].preference`, `must be in [0, 1], got ${c.preference}`);
  });
  const delta = comparisons.map((c) => c.candidateLength - c.incumbentLength);
  const sd = sampleStd(delta);
  const scale = sd > 0 ? sd : 1; // all lengths equal: the feature is 0 and the LC rate is the plain rate
  const x = delta.map((d) => Math.tanh(d / scale));
  const y = comparisons.map((c) => c.preference);
  const fit = (idx: Int32Array): number[] => logisticRegression(Array.from(idx, (i) => [1, x[i]!]), Array.from(idx, (i) => y[i]!), { l2: LC_RIDGE }).coefficients;
  const n = comparisons.length;
  const full = fit(Int32Array.from({ length: n }, (_, i) => i));
  return {
    winRate: bootstrap(n, (idx) => mean(Array.from(idx, (i) => y[i]!)), options),
    lengthControlledWinRate: bootstrap(n, (idx) => sigmoid(fit(idx)[0]!), options),
    lengthCoefficient: full[1]!,
    lengthDifferenceScale: scale,
  };
}
