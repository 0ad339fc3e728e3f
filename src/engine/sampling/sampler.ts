// Next-token sampling over one row of logits: temperature, top-k, top-p (nucleus,
// Holtzman et al. 2020 "The Curious Case of Neural Text Degeneration"), greedy at
// temperature 0, plus the log-probabilities the API reports.
//
// Order of the filters follows Hugging Face's logits warpers: temperature, then
// top-k, then top-p over the renormalised top-k set.
//
// Log-probabilities are of the temperature-scaled FULL distribution, log softmax(z/T),
// before top-k/top-p truncation (at T = 0 they are of the raw model distribution,
// T = 1): truncation is a sampling decision, not a property of the model, and a
// reported logprob of 0 for the only surviving token would tell the client nothing.
//
// Hot path: every buffer is sized once per vocabulary; sampling a token allocates no
// arrays (one small subarray view when truncating).

import { EngineError, NonFiniteError } from '../errors.js';

/**
 * Temperatures at or below this are greedy. 1/T of a tiny temperature overflows the
 * decode graph's float32 `inv_temperature` input (1/1e-39 = Infinity), and the scaled
 * logits become NaN; well before that, softmax(z/T) is already the argmax. vLLM draws
 * the same line (sampling_params.py, _SAMPLING_EPS = 1e-5).
 */
export const GREEDY_TEMPERATURE = 1e-5;

/** Whether a (validated, ≥ 0) temperature means argmax. */
export function isGreedy(temperature: number): boolean {
  return temperature <= GREEDY_TEMPERATURE;
}

export interface SamplingParams {
  /** ≤ GREEDY_TEMPERATURE (e.g. 0) = greedy (argmax, ties to the lowest id). */
  readonly temperature: number;
  /** Nucleus mass in (0, 1]; 1 disables. */
  readonly topP: number;
  /** Keep only the K most likely tokens; undefined or 0 disables. */
  readonly topK?: number;
}

/** Anything that yields uniforms in [0, 1): the engine Rng in production. */
export interface UniformSource {
  next(): number;
}

/** Invalid sampling parameters (client input). Not retriable. */
export class SamplingParamsError extends EngineError {
  readonly retriable = false;
  override readonly code = 'invalid_sampling_params';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export function validateSamplingParams(p: SamplingParams): void {
  if (!Number.isFinite(p.temperature) || p.temperature < 0) throw new SamplingParamsError('temperature', `must be a finite number ≥ 0, got ${p.temperature}`);
  if (!Number.isFinite(p.topP) || p.topP <= 0 || p.topP > 1) throw new SamplingParamsError('topP', `must be in (0, 1], got ${p.topP}`);
  if (p.topK !== undefined && (!Number.isInteger(p.topK) || p.topK < 0)) throw new SamplingParamsError('topK', `must be a non-negative integer, got ${p.topK}`);
}

/**
 * Truncation buckets: tokens are binned by (max − z)/T in quarter-nat steps, so the
 * boundary of top-k/top-p is found with one pass over the vocabulary plus a sort of the
 * one boundary bucket — not a comparator sort of V ids (measured ≈ 2.7 ms per token at
 * V = 2048 with Array.prototype.sort and a comparator, ~10× the model's share).
 */
const BUCKETS = 64;
const BUCKETS_PER_NAT = 4;

/**
 * One row of the decode graph's sampling outputs (see gpt/inference-graphs.ts): the K most
 * likely ids of the temperature-scaled distribution, their log-probabilities (descending,
 * ties lower id first), the distribution's running sum in id order, and the raw logits.
 */
export interface TopCandidates {
  readonly logprobs: Float32Array;
  readonly ids: BigInt64Array;
  readonly cdf: Float32Array;
  readonly logits: Float32Array;
}

/**
 * The decode graph's `inv_temperature` for a row: 1/T in float32 (the input's type), and 1
 * for greedy rows, whose logprobs are reported at T = 1. The sampler reads the graph's
 * scale back through this same function.
 */
export function graphInvTemperature(temperature: number): number {
  return Math.fround(isGreedy(temperature) ? 1 : 1 / temperature);
}

export class Sampler {
  /** exp((z_i − max)/T): unnormalised probabilities of the scaled distribution. */
  private readonly weights: Float64Array;
  /** (max − z_i)/T ≥ 0, the bucket key. */
  private readonly gaps: Float64Array;
  private readonly candidates: Int32Array;
  private readonly bucketOf: Uint8Array;
  private readonly boundaryValues: Float64Array;
  private readonly bucketMass = new Float64Array(BUCKETS);
  private readonly bucketCount = new Int32Array(BUCKETS);

  /** Log-probability of the last sampled token. */
  chosenLogprob = 0;
  /** Top alternatives of the last call (by logprob, descending): ids and logprobs, `topCount` valid entries. */
  readonly topIds: Int32Array;
  readonly topLogprobs: Float64Array;
  topCount = 0;

  constructor(
    readonly vocabSize: number,
    readonly maxTopLogprobs = 20,
  ) {
    this.weights = new Float64Array(vocabSize);
    this.gaps = new Float64Array(vocabSize);
    this.candidates = new Int32Array(vocabSize);
    this.bucketOf = new Uint8Array(vocabSize);
    this.boundaryValues = new Float64Array(vocabSize);
    this.topIds = new Int32Array(maxTopLogprobs);
    this.topLogprobs = new Float64Array(maxTopLogprobs);
  }

  /**
   * Choose the next token from `logits` (length ≥ vocabSize, e.g. a row view of the
   * batch output). `rng` is only used when temperature > 0. `topLogprobs`
   * alternatives are written to topIds/topLogprobs.
   */
  sample(logits: Float32Array, params: SamplingParams, rng: UniformSource, topLogprobs = 0): number {
    const V = this.vocabSize;
    const greedy = isGreedy(params.temperature);
    const invT = greedy ? 1 : 1 / params.temperature;
    let max = -Infinity;
    let argmax = 0;
    for (let i = 0; i < V; i++) {
      const z = logits[i];
      if (z > max) {
        max = z;
        argmax = i;
      }
    }
    if (!Number.isFinite(max)) throw new NonFiniteError('logits', argmax, max);
    const w = this.weights;
    const gaps = this.gaps;
    let total = 0;
    // Top-p alone (the common API case): bin the tokens into the truncation buckets in the
    // same pass as the exponentials, so the cut needs one more pass instead of four
    // (measured at V = 1024, T = 0.7, top-p 0.9: 63 → ~35 µs per row).
    const topPOnly = !greedy && params.topP < 1 && !(params.topK && params.topK < V);
    const bucketOf = this.bucketOf;
    const bMass = topPOnly ? this.bucketMass.fill(0) : this.bucketMass;
    const bCount = topPOnly ? this.bucketCount.fill(0) : this.bucketCount;
    for (let i = 0; i < V; i++) {
      const gap = (max - logits[i]) * invT;
      gaps[i] = gap;
      const e = Math.exp(-gap);
      w[i] = e;
      total += e;
      if (topPOnly) {
        const b = Math.min(BUCKETS - 1, Math.floor(gap * BUCKETS_PER_NAT));
        bucketOf[i] = b;
        bMass[b] += e;
        bCount[b]++;
      }
    }
    // a NaN logit below the maximum poisons the sum (and every logprob) without raising it
    if (!Number.isFinite(total)) throw new NonFiniteError('logits', argmax, total);
    const logTotal = Math.log(total);

    let chosen: number;
    if (greedy) chosen = argmax;
    else if (topPOnly) {
      const n = this.cutBinned(V, true, params.topP * total);
      let mass = 0;
      for (let j = 0; j < n; j++) mass += w[this.candidates[j]];
      chosen = this.sampleFrom(this.candidates, n, mass, rng);
    } else chosen = this.sampleFiltered(params, total, rng);
    this.chosenLogprob = -gaps[chosen] - logTotal;
    this.fillTopLogprobs(Math.min(topLogprobs, this.maxTopLogprobs));
    for (let j = 0; j < this.topCount; j++) this.topLogprobs[j] = -gaps[this.topIds[j]] - logTotal;
    return chosen;
  }

  /**
   * `sample` from the decode graph's candidate list instead of a pass over the vocabulary:
   * the same token for the same uniform draw (the draw is walked over the kept ids in id
   * order, as `sample` does), up to float32 rounding of the graph's probabilities. Returns
   * null, without touching `rng`, when the list cannot decide the draw (a top-k larger
   * than K, or a nucleus wider than K tokens): the caller then uses `sample`.
   */
  sampleFromTop(c: TopCandidates, params: SamplingParams, rng: UniformSource, topLogprobs = 0): number | null {
    const K = c.logprobs.length;
    if (Math.min(topLogprobs, this.maxTopLogprobs) > K) return null; // more alternatives asked than the list holds
    const lp0 = c.logprobs[0];
    if (!Number.isFinite(lp0)) throw new NonFiniteError('logprobs', 0, lp0);
    const V = this.vocabSize;
    let chosen: number;
    if (isGreedy(params.temperature)) {
      chosen = Number(c.ids[0]);
      this.chosenLogprob = lp0;
    } else {
      const topK = params.topK && params.topK < V ? params.topK : 0;
      const useTopP = params.topP < 1;
      if (!topK && !useTopP) {
        // plain sampling: the first id whose running sum exceeds the draw
        const cdf = c.cdf;
        const u = rng.next() * cdf[V - 1];
        let lo = 0;
        let hi = V - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (cdf[mid] > u) hi = mid;
          else lo = mid + 1;
        }
        chosen = lo;
        // log p = z·invT − log Z, with log Z read off the top entry
        const invT = graphInvTemperature(params.temperature);
        const logZ = c.logits[Number(c.ids[0])] * invT - lp0;
        this.chosenLogprob = c.logits[chosen] * invT - logZ;
      } else {
        if (topK > K) return null;
        const n = topK || K;
        const p = this.boundaryValues; // p[j] = p(ids[j]), in the list's (descending) order
        for (let j = 0; j < n; j++) p[j] = Math.exp(c.logprobs[j]);
        let kept = n;
        if (useTopP) {
          let limit = params.topP * c.cdf[V - 1];
          if (topK) {
            limit = 0;
            for (let j = 0; j < n; j++) limit += p[j];
            limit *= params.topP;
          }
          let acc = 0;
          kept = 0;
          for (let j = 0; j < n && kept === 0; j++) if ((acc += p[j]) >= limit) kept = j + 1;
          if (kept === 0) {
            if (!topK) return null; // the nucleus is wider than the list
            kept = n; // rounding: the whole top-k set
          }
        }
        // the kept ids in id order with their weights, then the same draw as `sample`
        const cand = this.candidates;
        const w = this.weights;
        let mass = 0;
        for (let j = 0; j < kept; j++) {
          const id = Number(c.ids[j]);
          w[id] = p[j];
          mass += p[j];
          let pos = j;
          for (; pos > 0 && cand[pos - 1] > id; pos--) cand[pos] = cand[pos - 1];
          cand[pos] = id;
        }
        chosen = this.sampleFrom(cand, kept, mass, rng);
        let rank = 0;
        while (Number(c.ids[rank]) !== chosen) rank++;
        this.chosenLogprob = c.logprobs[rank];
      }
    }
    const count = Math.min(topLogprobs, this.maxTopLogprobs);
    for (let j = 0; j < count; j++) {
      this.topIds[j] = Number(c.ids[j]);
      this.topLogprobs[j] = c.logprobs[j];
    }
    this.topCount = Math.max(0, count);
    return chosen;
  }

  private sampleFiltered(params: SamplingParams, total: number, rng: UniformSource): number {
    const V = this.vocabSize;
    const topK = params.topK && params.topK < V ? params.topK : 0;
    const useTopP = params.topP < 1;
    if (!topK && !useTopP) return this.sampleFrom(null, V, total, rng);
    const cand = this.candidates;
    for (let i = 0; i < V; i++) cand[i] = i;
    let n = V;
    let mass = total;
    if (topK) {
      n = this.truncate(n, false, topK);
      mass = 0;
      for (let j = 0; j < n; j++) mass += this.weights[cand[j]];
    }
    if (useTopP) {
      n = this.truncate(n, true, params.topP * mass);
      mass = 0;
      for (let j = 0; j < n; j++) mass += this.weights[cand[j]];
    }
    return this.sampleFrom(cand, n, mass, rng);
  }

  /**
   * Keep the largest-weight candidates (ties to the lowest id) until their count
   * reaches `limit` (byMass false) or their weight sum reaches `limit` (byMass true).
   * Compacts candidates[0..n) in place, preserving id order; returns the new n.
   */
  private truncate(n: number, byMass: boolean, limit: number): number {
    const w = this.weights;
    const cand = this.candidates;
    const bucketOf = this.bucketOf;
    const bMass = this.bucketMass.fill(0);
    const bCount = this.bucketCount.fill(0);
    for (let j = 0; j < n; j++) {
      const id = cand[j];
      const b = Math.min(BUCKETS - 1, Math.floor(this.gaps[id] * BUCKETS_PER_NAT));
      bucketOf[j] = b;
      bMass[b] += w[id];
      bCount[b]++;
    }
    return this.cutBinned(n, byMass, limit, true);
  }

  /**
   * The cut of `truncate` once the candidates are binned (bucketOf[j] for candidates[j],
   * bucket masses and counts filled). With `fromCandidates` false the candidates are
   * implicitly 0..n-1 (the fused top-p pass of `sample`), and candidates[] is written.
   */
  private cutBinned(n: number, byMass: boolean, limit: number, fromCandidates = false): number {
    const w = this.weights;
    const cand = this.candidates;
    const bucketOf = this.bucketOf;
    const bMass = this.bucketMass;
    const bCount = this.bucketCount;
    let boundary = -1;
    let before = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const add = byMass ? bMass[b] : bCount[b];
      if (before + add >= limit) {
        boundary = b;
        break;
      }
      before += add;
    }
    if (boundary < 0) {
      // the limit covers every candidate
      if (!fromCandidates) for (let j = 0; j < n; j++) cand[j] = j;
      return n;
    }
    // exact cut inside the boundary bucket: sort its weights (numeric sort, no comparator)
    let m = 0;
    const vals = this.boundaryValues;
    for (let j = 0; j < n; j++) if (bucketOf[j] === boundary) vals[m++] = w[fromCandidates ? cand[j] : j];
    const sorted = vals.subarray(0, m).sort(); // ascending
    let threshold = sorted[m - 1];
    let tiesNeeded = 0;
    let acc = before;
    for (let k = m - 1; k >= 0; k--) {
      const v = sorted[k];
      if (v !== threshold) {
        threshold = v;
        tiesNeeded = 0;
      }
      tiesNeeded++;
      acc += byMass ? v : 1;
      if (acc >= limit) break;
    }
    let out = 0;
    for (let j = 0; j < n; j++) {
      const b = bucketOf[j];
      const id = fromCandidates ? cand[j] : j;
      if (b < boundary || (b === boundary && (w[id] > threshold || (w[id] === threshold && tiesNeeded-- > 0)))) cand[out++] = id;
    }
    return out;
  }

  /** Inverse-CDF draw over ids (or 0..n-1 when ids is null) with weights summing to `mass`. */
  private sampleFrom(ids: Int32Array | null, n: number, mass: number, rng: UniformSource): number {
    const w = this.weights;
    const u = rng.next() * mass;
    let cum = 0;
    for (let j = 0; j < n; j++) {
      const id = ids ? ids[j] : j;
      cum += w[id];
      if (u < cum) return id;
    }
    // rounding: u within float error of the total lands on the last positive-weight id
    for (let j = n - 1; j >= 0; j--) {
      const id = ids ? ids[j] : j;
      if (w[id] > 0) return id;
    }
    return ids ? ids[0] : 0;
  }

  private fillTopLogprobs(k: number): void {
    this.topCount = 0;
    if (k <= 0) return;
    const w = this.weights;
    const ids = this.topIds;
    let size = 0;
    for (let id = 0; id < this.vocabSize; id++) {
      const v = w[id];
      if (size === k && !(v > w[ids[size - 1]])) continue;
      let pos = size < k ? size++ : k - 1;
      while (pos > 0 && w[ids[pos - 1]] < v) {
        ids[pos] = ids[pos - 1];
        pos--;
      }
      ids[pos] = id;
    }
    this.topCount = size;
  }
}
