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
// arrays (V8 may still allocate small temporaries inside TypedArray.prototype.sort).

export interface SamplingParams {
  /** 0 = greedy (argmax, ties to the lowest id). */
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
export class SamplingParamsError extends Error {
  readonly retriable = false;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'SamplingParamsError';
  }
}

export function validateSamplingParams(p: SamplingParams): void {
  if (!Number.isFinite(p.temperature) || p.temperature < 0) throw new SamplingParamsError('temperature', `must be a finite number ≥ 0, got ${p.temperature}`);
  if (!Number.isFinite(p.topP) || p.topP <= 0 || p.topP > 1) throw new SamplingParamsError('topP', `must be in (0, 1], got ${p.topP}`);
  if (p.topK !== undefined && (!Number.isInteger(p.topK) || p.topK < 0)) throw new SamplingParamsError('topK', `must be a non-negative integer, got ${p.topK}`);
}

/** Selection by insertion into a small sorted prefix is O(V·K) worst case; above this K a full sort wins. */
const INSERTION_SELECT_MAX_K = 64;

export class Sampler {
  /** exp(z_i/T − max): unnormalised probabilities of the scaled distribution. */
  private readonly weights: Float64Array;
  private readonly candidates: Int32Array;
  private currentWeights: Float64Array;
  private readonly byWeightDesc = (a: number, b: number): number => this.currentWeights[b] - this.currentWeights[a] || a - b;

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
    this.currentWeights = this.weights;
    this.candidates = new Int32Array(vocabSize);
    this.topIds = new Int32Array(maxTopLogprobs);
    this.topLogprobs = new Float64Array(maxTopLogprobs);
  }

  /**
   * Choose the next token from `logits` (length V, e.g. a row view of the batch
   * output). `rng` is only used when temperature > 0. `topLogprobs` alternatives
   * are written to topIds/topLogprobs.
   */
  sample(logits: Float32Array, params: SamplingParams, rng: UniformSource, topLogprobs = 0): number {
    const V = this.vocabSize;
    const greedy = params.temperature === 0;
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
    if (!Number.isFinite(max)) throw new RangeError(`logits: maximum is ${max} (non-finite model output)`);
    const w = this.weights;
    let total = 0;
    for (let i = 0; i < V; i++) {
      const e = Math.exp((logits[i] - max) * invT);
      w[i] = e;
      total += e;
    }
    const logTotal = Math.log(total);
    const logprobOf = (id: number): number => (logits[id] - max) * invT - logTotal;

    const chosen = greedy ? argmax : this.sampleFiltered(params, total, rng);
    this.chosenLogprob = logprobOf(chosen);
    this.fillTopLogprobs(Math.min(topLogprobs, this.maxTopLogprobs));
    for (let j = 0; j < this.topCount; j++) this.topLogprobs[j] = logprobOf(this.topIds[j]);
    return chosen;
  }

  private sampleFiltered(params: SamplingParams, total: number, rng: UniformSource): number {
    const V = this.vocabSize;
    const w = this.weights;
    const topK = params.topK && params.topK < V ? params.topK : 0;
    const useTopP = params.topP < 1;
    if (!topK && !useTopP) return this.sampleFrom(null, V, total, rng);

    // Candidate prefilter for top-p: tokens with probability < τ = (1 − p)/(2V) hold
    // less than (1 − p)/2 of the mass together, so the kept set has mass > p and the
    // nucleus (a prefix of the sorted order) lies entirely inside it. Exact, and on a
    // trained model's peaked distribution it leaves a handful of tokens to sort.
    const cand = this.candidates;
    let n = 0;
    const threshold = useTopP ? ((1 - params.topP) / (2 * V)) * total : -1;
    for (let i = 0; i < V; i++) if (w[i] >= threshold) cand[n++] = i;

    this.currentWeights = w;
    if (topK && topK < n) {
      if (topK <= INSERTION_SELECT_MAX_K) n = this.selectTop(cand, n, topK);
      else {
        cand.subarray(0, n).sort(this.byWeightDesc);
        n = topK;
      }
    } else if (useTopP) cand.subarray(0, n).sort(this.byWeightDesc);

    let mass = 0;
    for (let j = 0; j < n; j++) mass += w[cand[j]];
    if (useTopP) {
      const target = params.topP * (topK ? mass : total);
      let cum = 0;
      let keep = n;
      for (let j = 0; j < n; j++) {
        cum += w[cand[j]];
        if (cum >= target) {
          keep = j + 1;
          break;
        }
      }
      n = keep;
      mass = 0;
      for (let j = 0; j < n; j++) mass += w[cand[j]];
    }
    return this.sampleFrom(cand, n, mass, rng);
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

  /** Moves the k largest-weight ids (descending, ties to lower id) to the front of ids[0..n). */
  private selectTop(ids: Int32Array, n: number, k: number): number {
    const w = this.weights;
    let size = 0;
    for (let j = 0; j < n; j++) {
      const id = ids[j];
      const v = w[id];
      if (size === k && !(v > w[ids[size - 1]])) continue;
      let pos = size < k ? size++ : k - 1;
      // ids[0..j) is already consumed, so writing into the prefix is safe (pos ≤ j)
      while (pos > 0 && (w[ids[pos - 1]] < v)) {
        ids[pos] = ids[pos - 1];
        pos--;
      }
      ids[pos] = id;
    }
    return size;
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
