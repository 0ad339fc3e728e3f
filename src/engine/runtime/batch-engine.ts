// BatchEngine: serves one policy artifact with continuous batching (Yu et al. 2022,
// "Orca: A Distributed Serving System for Transformer-Based Generative Models" —
// iteration-level scheduling): every decode step runs all active rows together, and
// rows join (after their prefill) and leave (finished, cancelled) between steps, so a
// long generation never holds a short one hostage and a new request does not wait for
// the current batch to drain.
//
// Dimension legend: S slots (max batch), n active rows, NH heads, P cache capacity
// (= maxSeqLen), HS head size, V vocabulary, L layers.
//
// KV cache (kv-cache.ts): preallocated (S, NH, P, HS) arrays per layer with active rows
// kept COMPACT in slots 0..n-1, so the decode graph's past_k/past_v inputs are plain
// prefixes — (n, NH, P, HS) views, no gather, no copy, no allocation per step. The ORT
// tensor wrappers for each (stride, n) are created once and reused, and outputs are
// pre-allocated too (ORT writes logits and new K/V into engine buffers passed as fetches).
//
// Prefill runs the rows admitted at one boundary together (right-padded, `lengths`
// tells the graph each row's last real token); its present_k/v are copied into the
// rows' slots once.

import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { END_OF_TURN, type PromptSegment } from '../chat-template.js';
import { ArtifactError, EngineError, TokenRangeError } from '../errors.js';
import { headSize, ParameterSet, type GptConfig } from '../gpt/config.js';
import { exportInferenceGraphs } from '../gpt/inference-graphs.js';
import { DECODE_FILE, inMemoryManifest, PREFILL_FILE, readArtifact, readVerifiedFile, type ArtifactManifest, type ArtifactMeta } from '../artifact/artifact.js';
import { ort, servingSessionOptions } from '../graph/session.js';
import { Rng } from '../rng.js';
import { graphInvTemperature, Sampler, SamplingParamsError, validateSamplingParams, type TopCandidates } from '../sampling/sampler.js';
import { StopMatcher } from '../sampling/stop-matcher.js';
import type { BpeTokenizer } from '../tokenizer/bpe-tokenizer.js';
import { StreamingDecoder } from '../tokenizer/stream-decoder.js';
import { KvCache } from './kv-cache.js';

export interface GenerateParams {
  /** Chat-template segments (encoded with the artifact's tokenizer) or token ids. */
  prompt: PromptSegment[] | number[];
  /** Upper bound on generated tokens (the end-of-turn token counts). */
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  /** Nucleus mass in (0, 1]. */
  topP: number;
  topK?: number;
  /** Same seed + same prompt + same params → same tokens. null/undefined: a random seed. */
  seed?: number | null;
  /** Text-level stop sequences; the stop text is not part of the output. */
  stop?: string[];
  /** Number of alternatives per token (0 = none, at most MAX_TOP_LOGPROBS). */
  topLogprobs?: number;
  /** Accepted for API symmetry: every TokenEvent carries its logprob regardless. */
  logprobs?: boolean;
  /** Aborting cancels the row at the next step boundary and frees its slot. */
  signal?: AbortSignal;
  /**
   * Benchmarks only (vLLM's ignore_eos): the end-of-turn token does not end the row,
   * so every row runs exactly maxTokens and batch sizes stay fixed.
   */
  ignoreEndOfTurn?: boolean;
}

export interface TokenEvent {
  tokenId: number;
  /**
   * Text this token released for the client: possibly '' (inside a multi-byte
   * character, inside a possible stop sequence, or the end-of-turn token) and possibly
   * text held back from earlier tokens. Concatenating every event's text gives
   * GenerateResult.text.
   */
  text: string;
  /** log p(token) under softmax(logits / T) (T = 1 when greedy), before top-k/top-p. */
  logprob: number;
  topLogprobs?: { text: string; logprob: number }[];
}

export interface GenerateResult {
  text: string;
  finishReason: 'stop' | 'length' | 'cancelled';
  promptTokens: number;
  /** Every sampled token, including a final end-of-turn token; equals tokens.length. */
  completionTokens: number;
  tokens: TokenEvent[];
}

export interface BatchEngineOptions {
  /** Slots = the largest decode batch. Default 32. */
  maxBatch?: number;
  /** ORT intra-op threads. Default: the machine's cores. */
  intraOpThreads?: number;
  /**
   * Sample decode-step tokens from the decode graph's candidate outputs when it has them
   * (default true). false: a JavaScript pass over every row's logits, as for older graphs.
   */
  graphSampling?: boolean;
}

export interface BatchEngineStats {
  activeRows: number;
  waiting: number;
  lastBatchSize: number;
  steps: number;
}

/** Cumulative timings since the last resetProfile(), for the decode benchmark and /metrics. */
export interface BatchEngineProfile {
  decodeSteps: number;
  /** Σ batch size over decode steps = tokens produced by decode steps. */
  decodeRowSteps: number;
  /** Wall time of whole decode steps (feeds, session.run, cache writes, sampling, events). */
  decodeStepMs: number;
  /** Wall time inside `await session.run` of decode steps. */
  decodeRunMs: number;
  /** Part of decodeStepMs spent writing new_k/new_v into the cache. */
  decodeCacheWriteMs: number;
  /** Part of decodeStepMs spent sampling, detokenizing and emitting token events. */
  decodeSampleMs: number;
  /** Decode-step tokens sampled from the graph's candidate list (the rest took a pass over the logits). */
  decodeGraphSampled: number;
  prefillRuns: number;
  prefillRows: number;
  prefillMs: number;
}

export const MAX_TOP_LOGPROBS = 20;

/** The prompt does not fit the model's context. Not retriable: the request must change. */
export class ContextLengthError extends EngineError {
  readonly retriable = false;
  constructor(
    readonly promptTokens: number,
    readonly maxPromptTokens: number,
  ) {
    super(`prompt: ${promptTokens} tokens, the model's context allows at most ${maxPromptTokens} prompt tokens`);
  }
}

/** The engine was closed before or while the request ran. Retriable on another engine instance. */
export class EngineClosedError extends EngineError {
  readonly retriable = true;
}

/** onnxruntime failed during a step; the rows in it are failed, the engine keeps serving. */
export class EngineRunError extends EngineError {
  readonly retriable = true;
}

interface Row {
  readonly promptIds: number[];
  readonly params: GenerateParams;
  readonly rng: Rng;
  readonly decoder: StreamingDecoder;
  readonly stop: StopMatcher;
  readonly onToken?: (t: TokenEvent) => void;
  readonly resolve: (r: GenerateResult) => void;
  readonly reject: (e: unknown) => void;
  readonly tokens: TokenEvent[];
  text: string;
  slot: number;
  /** Tokens in the KV cache for this row. */
  length: number;
  /** Last sampled token, fed at the next decode step. */
  pendingToken: number;
  cancelRequested: boolean;
  done: boolean;
  abortListener?: () => void;
}

interface DecodeFeeds {
  feeds: Record<string, ort.Tensor>;
  /** Pre-allocated outputs: ORT writes logits and new K/V straight into engine buffers. */
  fetches: Record<string, ort.Tensor>;
}

export class BatchEngine {
  readonly manifest: ArtifactManifest;
  readonly config: GptConfig;
  readonly tokenizer: BpeTokenizer;
  readonly maxBatch: number;
  /** Positions per row the KV cache can hold (= maxSeqLen, the context). */
  readonly cacheCapacity: number;

  private readonly L: number;
  private readonly NH: number;
  private readonly HS: number;
  private readonly V: number;
  private readonly sampledVocab: number;
  private readonly endTokenId: number;
  private readonly padTokenId: number;
  private readonly cache: KvCache;
  private readonly stepTokens: BigInt64Array;
  private readonly stepPositions: BigInt64Array;
  private readonly stepLogits: Float32Array;
  private readonly stepNewK: Float32Array[];
  private readonly stepNewV: Float32Array[];
  /** Row views of stepLogits over the sampled vocabulary, one per slot (the decode step's row i is slot i). */
  private readonly slotLogits: Float32Array[];
  /**
   * Row views of the decode graph's sampling outputs (top_logprobs, top_ids, cdf), one per
   * slot; null for decode graphs exported before them. Created once: no allocation per step.
   */
  private readonly slotCandidates: TopCandidates[] | null;
  /** The decode graph's per-row 1/T input (null for graphs without it). */
  private readonly stepInvTemperature: Float32Array | null;
  /** The buffers ORT writes the sampling outputs into (all slots), when the graph has them. */
  private readonly graphSampling: { K: number; topLogprobs: Float32Array; topIds: BigInt64Array; cdf: Float32Array } | null;
  /** Decode feeds/fetches per (stride, batch size), created once each. */
  private readonly feedsByShape = new Map<number, DecodeFeeds>();
  private readonly sampler: Sampler;
  /** Display text of each id alone, for top-logprob alternatives. */
  private readonly tokenText: string[];

  private readonly active: Row[] = [];
  private readonly waiting: Row[] = [];
  private loopRunning = false;
  private closed = false;
  private loopDone: Promise<void> = Promise.resolve();
  private steps = 0;
  private lastBatchSize = 0;
  private profileData: BatchEngineProfile = emptyProfile();
  /** Awaited before every scheduling step when set (see setStepGate). */
  private stepGate: (() => Promise<void>) | null = null;

  private constructor(
    manifest: ArtifactManifest,
    tokenizer: BpeTokenizer,
    private readonly prefillSession: ort.InferenceSession,
    private readonly decodeSession: ort.InferenceSession,
    maxBatch: number,
    sampling: DecodeSamplingIo,
  ) {
    this.manifest = manifest;
    this.config = manifest.config;
    this.tokenizer = tokenizer;
    this.maxBatch = maxBatch;
    this.L = this.config.layers;
    this.NH = this.config.heads;
    this.HS = headSize(this.config);
    this.V = this.config.vocabSize;
    // The model's vocabulary may be padded beyond the tokenizer's (config.vocabSize is
    // fixed before the tokenizer is trained): ids without a meaning are never sampled.
    this.sampledVocab = Math.min(this.V, tokenizer.vocabSize);
    this.cacheCapacity = this.config.maxSeqLen;
    this.endTokenId = tokenizer.specialId(END_OF_TURN);
    this.padTokenId = tokenizer.specialId('<|pad|>');
    this.cache = new KvCache(this.L, this.NH, this.HS, maxBatch, this.cacheCapacity);
    this.stepTokens = new BigInt64Array(maxBatch);
    this.stepPositions = new BigInt64Array(maxBatch);
    this.stepLogits = new Float32Array(maxBatch * this.V);
    this.stepNewK = Array.from({ length: this.L }, () => new Float32Array(maxBatch * this.NH * this.HS));
    this.stepNewV = Array.from({ length: this.L }, () => new Float32Array(maxBatch * this.NH * this.HS));
    this.sampler = new Sampler(this.sampledVocab, MAX_TOP_LOGPROBS);
    this.stepInvTemperature = sampling.invTemperature ? new Float32Array(maxBatch) : null;
    const VS = this.sampledVocab;
    this.slotLogits = Array.from({ length: maxBatch }, (_, i) => this.stepLogits.subarray(i * this.V, i * this.V + VS));
    const K = sampling.topK;
    const gs = K > 0 && sampling.sampledVocab === VS ? { K, topLogprobs: new Float32Array(maxBatch * K), topIds: new BigInt64Array(maxBatch * K), cdf: new Float32Array(maxBatch * VS) } : null;
    this.graphSampling = gs;
    this.slotCandidates = gs
      ? Array.from({ length: maxBatch }, (_, i) => ({
          logprobs: gs.topLogprobs.subarray(i * K, (i + 1) * K),
          ids: gs.topIds.subarray(i * K, (i + 1) * K),
          cdf: gs.cdf.subarray(i * VS, (i + 1) * VS),
          logits: this.slotLogits[i]!,
        }))
      : null;
    this.tokenText = Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.decode([id]));
  }

  /** Load and verify an artifact directory (every sha256 is checked) and open its ORT sessions. */
  static async load(artifactDir: string, opts: BatchEngineOptions = {}): Promise<BatchEngine> {
    const maxBatch = checkedMaxBatch(opts);
    const artifact = await readArtifact(artifactDir);
    const { manifest } = artifact;
    for (const f of [PREFILL_FILE, DECODE_FILE]) {
      if (!manifest.files[f]) throw new ArtifactError(`${join(artifactDir, f)}: artifact ${manifest.artifactId} has no serving graph (training-only artifact)`);
    }
    // readArtifact verified the files; reading them again through readVerifiedFile keeps
    // the check honest if the directory changed in between.
    const prefill = await readVerifiedFile(artifactDir, manifest, PREFILL_FILE);
    const decode = await readVerifiedFile(artifactDir, manifest, DECODE_FILE);
    return BatchEngine.open(manifest, artifact.tokenizer, { prefill, decode }, maxBatch, opts, join(artifactDir, DECODE_FILE));
  }

  /**
   * An engine over weights in memory — the parameters being trained — with no artifact
   * written: PPO rollouts and evaluation generate from the current policy this way. The
   * serving graphs are exported exactly as writeArtifact exports them, and run on this
   * same runtime (sampler, KV cache, scheduling), so the tokens and log-probs equal those
   * of an engine loaded from the artifact of the same parameters. `manifest` describes the
   * weights as their artifact would (artifactId = sha256 of the blob) but lists no files.
   * The parameters are copied into the graphs: training may go on changing `params`.
   */
  static async fromParameters(
    params: ParameterSet,
    tokenizer: BpeTokenizer,
    opts: BatchEngineOptions & { meta?: ArtifactMeta } = {},
  ): Promise<BatchEngine> {
    const maxBatch = checkedMaxBatch(opts);
    const manifest = inMemoryManifest(params, tokenizer, opts.meta ?? { kind: 'policy' });
    const graphs = exportInferenceGraphs(params.config, params, { sampledVocab: tokenizer.vocabSize });
    return BatchEngine.open(manifest, tokenizer, graphs, maxBatch, opts, `in-memory parameters ${manifest.artifactId}`);
  }

  /** Open the serving sessions of `graphs`, check the decode graph's contract, build the engine. */
  private static async open(
    manifest: ArtifactManifest,
    tokenizer: BpeTokenizer,
    graphs: { prefill: Uint8Array; decode: Uint8Array },
    maxBatch: number,
    opts: BatchEngineOptions,
    decodeSource: string,
  ): Promise<BatchEngine> {
    const sessionOptions = servingSessionOptions(opts.intraOpThreads);
    const prefill = await ort.InferenceSession.create(graphs.prefill, sessionOptions);
    const decode = await ort.InferenceSession.create(graphs.decode, sessionOptions);
    let sampling: DecodeSamplingIo;
    try {
      checkDecodeCacheLayout(decode, manifest.config, decodeSource);
      sampling = decodeSamplingIo(decode, decodeSource);
      if (opts.graphSampling === false) sampling = { ...sampling, topK: 0 };
    } catch (e) {
      await Promise.all([prefill.release(), decode.release()]);
      throw e;
    }
    return new BatchEngine(manifest, tokenizer, prefill, decode, maxBatch, sampling);
  }

  stats(): BatchEngineStats {
    // rows that finished during the last step leave the batch at the next boundary; they are no longer active
    let activeRows = 0;
    for (const row of this.active) if (!row.done) activeRows++;
    return { activeRows, waiting: this.waiting.length, lastBatchSize: this.lastBatchSize, steps: this.steps };
  }

  profile(): BatchEngineProfile {
    return { ...this.profileData };
  }

  resetProfile(): void {
    this.profileData = emptyProfile();
  }

  /** The longest prompt accepted: one position must stay free for generated tokens. */
  get maxPromptTokens(): number {
    return this.cacheCapacity - 1;
  }

  /**
   * Generate a completion. Validates the request up front (typed errors: SamplingParamsError,
   * TokenRangeError, ContextLengthError); resolves with finishReason 'cancelled' when
   * `signal` aborts. `onToken` is called synchronously for each sampled token, in order.
   */
  generate(p: GenerateParams, onToken?: (t: TokenEvent) => void): Promise<GenerateResult> {
    if (this.closed) return Promise.reject(new EngineClosedError('generate: the engine is closed'));
    let promptIds: number[];
    try {
      promptIds = this.validate(p);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<GenerateResult>((resolve, reject) => {
      const seed = p.seed ?? randomInt(0, 2 ** 48 - 1);
      const row: Row = {
        promptIds,
        params: p,
        rng: new Rng(seed),
        decoder: new StreamingDecoder(this.tokenizer),
        stop: new StopMatcher(p.stop ?? []),
        onToken,
        resolve,
        reject,
        tokens: [],
        text: '',
        slot: -1,
        length: 0,
        pendingToken: -1,
        cancelRequested: false,
        done: false,
      };
      if (p.signal) {
        if (p.signal.aborted) {
          resolve(this.result(row, 'cancelled'));
          return;
        }
        row.abortListener = () => this.cancel(row);
        p.signal.addEventListener('abort', row.abortListener, { once: true });
      }
      this.waiting.push(row);
      this.ensureLoop();
    });
  }

  /** Stop accepting work, fail every pending and running request, release the ORT sessions. */
  async close(): Promise<void> {
    if (this.closed) return this.loopDone;
    this.closed = true;
    const error = new EngineClosedError('the engine was closed while the request was pending');
    for (const row of this.waiting.splice(0)) this.fail(row, error);
    for (const row of this.active) row.cancelRequested = true; // the loop fails them at its next boundary
    await this.loopDone;
    for (const row of this.active.splice(0)) this.fail(row, error);
    await this.prefillSession.release();
    await this.decodeSession.release();
  }

  private validate(p: GenerateParams): number[] {
    validateSamplingParams(p);
    if (!Number.isInteger(p.maxTokens) || p.maxTokens < 1) throw new SamplingParamsError('maxTokens', `must be a positive integer, got ${p.maxTokens}`);
    const top = p.topLogprobs ?? 0;
    if (!Number.isInteger(top) || top < 0 || top > MAX_TOP_LOGPROBS) throw new SamplingParamsError('topLogprobs', `must be an integer in [0, ${MAX_TOP_LOGPROBS}], got ${top}`);
    if (p.seed !== undefined && p.seed !== null && !Number.isSafeInteger(p.seed)) throw new SamplingParamsError('seed', `must be an integer, got ${p.seed}`);
    if (p.stop !== undefined && (!Array.isArray(p.stop) || p.stop.some((s) => typeof s !== 'string'))) throw new SamplingParamsError('stop', 'must be an array of strings');
    if (!Array.isArray(p.prompt)) throw new SamplingParamsError('prompt', 'must be an array of segments or token ids');
    const ids = p.prompt.length > 0 && typeof p.prompt[0] === 'number' ? [...(p.prompt as number[])] : this.tokenizer.encodeSegments(p.prompt as PromptSegment[]);
    if (ids.length === 0) throw new SamplingParamsError('prompt', 'must contain at least one token');
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.sampledVocab) throw new TokenRangeError('prompt', i, id, this.sampledVocab);
    }
    if (ids.length > this.maxPromptTokens) throw new ContextLengthError(ids.length, this.maxPromptTokens);
    return ids;
  }

  private cancel(row: Row): void {
    if (row.done) return;
    const w = this.waiting.indexOf(row);
    if (w >= 0) {
      this.waiting.splice(w, 1);
      this.finish(row, 'cancelled');
      return;
    }
    row.cancelRequested = true; // active: removed at the next step boundary
  }

  private ensureLoop(): void {
    if (this.loopRunning) return;
    this.loopRunning = true;
    this.loopDone = this.loop()
      .catch((e: unknown) => {
        // a bug or an unexpected runtime failure: fail every row rather than hang them
        const error = new EngineRunError(`batch loop failed: ${(e as Error).message}`);
        for (const row of [...this.active.splice(0), ...this.waiting.splice(0)]) this.fail(row, error);
      })
      .finally(() => {
        this.loopRunning = false;
      });
  }

  /**
   * Holds every scheduling step (prefill and/or decode) until `gate` resolves. For tests
   * that must act between two steps — "the abort arrives before the generation ends" —
   * without racing the clock on a loaded machine; null (the default) runs freely.
   */
  setStepGate(gate: (() => Promise<void>) | null): void {
    this.stepGate = gate;
  }

  private async loop(): Promise<void> {
    while (!this.closed && (this.active.length > 0 || this.waiting.length > 0)) {
      if (this.stepGate) await this.stepGate();
      this.removeFinishedRows();
      if (this.waiting.length > 0 && this.active.length < this.maxBatch) {
        const admitted = this.waiting.splice(0, this.maxBatch - this.active.length);
        await this.prefill(admitted);
        this.removeFinishedRows();
      }
      if (this.active.length > 0 && !this.closed) await this.decodeStep();
      this.removeFinishedRows();
      // let aborts, new requests and stream consumers run between steps
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  // ---- prefill -------------------------------------------------------------

  private async prefill(rows: Row[]): Promise<void> {
    const t0 = process.hrtime.bigint();
    const B = rows.length;
    const T = Math.max(...rows.map((r) => r.promptIds.length));
    const tokens = new BigInt64Array(B * T).fill(BigInt(this.padTokenId));
    const lengths = new BigInt64Array(B);
    rows.forEach((r, b) => {
      for (let t = 0; t < r.promptIds.length; t++) tokens[b * T + t] = BigInt(r.promptIds[t]);
      lengths[b] = BigInt(r.promptIds.length);
    });
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.prefillSession.run({ tokens: new ort.Tensor('int64', tokens, [B, T]), lengths: new ort.Tensor('int64', lengths, [B]) });
    } catch (e) {
      const error = new EngineRunError(`prefill failed for a batch of ${B}: ${(e as Error).message}`);
      for (const r of rows) this.fail(r, error);
      return;
    }
    const logits = out.logits.data as Float32Array; // (B, V)
    // the new rows' next writes go to position promptLength: the stride must exceed it
    this.cache.ensureStride(Math.max(this.activeNeed(), ...rows.map((r) => r.promptIds.length + 1)), true, this.active);
    const presentK: Float32Array[] = [];
    const presentV: Float32Array[] = [];
    for (let l = 0; l < this.L; l++) {
      presentK.push(out[`present_k_${l}`].data as Float32Array); // (B, NH, T, HS)
      presentV.push(out[`present_v_${l}`].data as Float32Array);
    }
    rows.forEach((row, b) => {
      if (row.done) return;
      if (row.cancelRequested) {
        // aborted while its prefill ran: never takes a slot
        if (this.closed) this.fail(row, new EngineClosedError('the engine was closed while the request was running'));
        else this.finish(row, 'cancelled');
        return;
      }
      const slot = this.active.length;
      row.slot = slot;
      this.active.push(row);
      const len = row.promptIds.length;
      this.cache.writePrompt(slot, presentK, presentV, b, T, len);
      row.length = len;
      this.acceptToken(row, logits.subarray(b * this.V, b * this.V + this.sampledVocab));
    });
    const p = this.profileData;
    p.prefillRuns++;
    p.prefillRows += B;
    p.prefillMs += Number(process.hrtime.bigint() - t0) / 1e6;
  }

  // ---- decode --------------------------------------------------------------

  private decodeFeeds(n: number): DecodeFeeds {
    const P = this.cache.stride;
    const key = P * (this.maxBatch + 1) + n;
    let f = this.feedsByShape.get(key);
    if (!f) {
      const rowFloats = this.cache.slotFloats;
      const dims = [n, this.NH, P, this.HS];
      const feeds: Record<string, ort.Tensor> = {
        tokens: new ort.Tensor('int64', this.stepTokens.subarray(0, n), [n]),
        positions: new ort.Tensor('int64', this.stepPositions.subarray(0, n), [n]),
        past_mask: new ort.Tensor('float32', this.cache.mask.subarray(0, n * P), [n, P]),
      };
      if (this.stepInvTemperature) feeds.inv_temperature = new ort.Tensor('float32', this.stepInvTemperature.subarray(0, n), [n]);
      for (let l = 0; l < this.L; l++) {
        feeds[`past_k_${l}`] = new ort.Tensor('float32', this.cache.keys[l]!.subarray(0, n * rowFloats), dims);
        feeds[`past_v_${l}`] = new ort.Tensor('float32', this.cache.values[l]!.subarray(0, n * rowFloats), dims);
      }
      const fetches: Record<string, ort.Tensor> = { logits: new ort.Tensor('float32', this.stepLogits.subarray(0, n * this.V), [n, this.V]) };
      const newDims = [n, this.NH, 1, this.HS];
      for (let l = 0; l < this.L; l++) {
        fetches[`new_k_${l}`] = new ort.Tensor('float32', this.stepNewK[l].subarray(0, n * this.NH * this.HS), newDims);
        fetches[`new_v_${l}`] = new ort.Tensor('float32', this.stepNewV[l].subarray(0, n * this.NH * this.HS), newDims);
      }
      const gs = this.graphSampling;
      if (gs) {
        fetches.top_logprobs = new ort.Tensor('float32', gs.topLogprobs.subarray(0, n * gs.K), [n, gs.K]);
        fetches.top_ids = new ort.Tensor('int64', gs.topIds.subarray(0, n * gs.K), [n, gs.K]);
        fetches.cdf = new ort.Tensor('float32', gs.cdf.subarray(0, n * this.sampledVocab), [n, this.sampledVocab]);
      }
      f = { feeds, fetches };
      this.feedsByShape.set(key, f);
    }
    return f;
  }

  private async decodeStep(): Promise<void> {
    const t0 = process.hrtime.bigint();
    const rows = this.active;
    const n = rows.length;
    const invT = this.stepInvTemperature;
    for (let i = 0; i < n; i++) {
      this.stepTokens[i] = BigInt(rows[i].pendingToken);
      this.stepPositions[i] = BigInt(rows[i].length);
      if (invT) invT[i] = graphInvTemperature(rows[i].params.temperature);
    }
    this.cache.ensureStride(this.activeNeed(), false, rows);
    const { feeds, fetches } = this.decodeFeeds(n);
    const r0 = process.hrtime.bigint();
    try {
      await this.decodeSession.run(feeds, fetches);
    } catch (e) {
      const error = new EngineRunError(`decode step failed for a batch of ${n}: ${(e as Error).message}`);
      for (const r of rows) this.fail(r, error);
      this.active.length = 0;
      return;
    }
    const r1 = process.hrtime.bigint();
    this.cache.appendStep(this.stepNewK, this.stepNewV, rows);
    const r2 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const row = rows[i];
      row.length++;
      if (row.done || row.cancelRequested) continue;
      this.acceptToken(row, this.slotLogits[i]!, this.slotCandidates?.[i] ?? null);
    }
    this.steps++;
    this.lastBatchSize = n;
    const t1 = process.hrtime.bigint();
    const p = this.profileData;
    p.decodeSteps++;
    p.decodeRowSteps += n;
    p.decodeStepMs += Number(t1 - t0) / 1e6;
    p.decodeRunMs += Number(r1 - r0) / 1e6;
    p.decodeCacheWriteMs += Number(r2 - r1) / 1e6;
    p.decodeSampleMs += Number(t1 - r2) / 1e6;
  }

  /** Sample from a row's logits, emit the token event, and decide whether the row is finished. */
  private acceptToken(row: Row, logits: Float32Array, candidates: TopCandidates | null = null): void {
    try {
      this.sampleAndEmit(row, logits, candidates);
    } catch (e) {
      // one row's failure (non-finite logits, a throwing consumer) must not take the batch down
      this.fail(row, e);
    }
  }

  /** `candidates`: the row's graph sampling outputs from the decode step just run (null after a prefill, or without them). */
  private sampleAndEmit(row: Row, logits: Float32Array, candidates: TopCandidates | null): void {
    const p = row.params;
    const topN = p.topLogprobs ?? 0;
    let id: number | null = null;
    if (candidates) {
      id = this.sampler.sampleFromTop(candidates, p, row.rng, topN);
      if (id !== null) this.profileData.decodeGraphSampled++;
    }
    if (id === null) id = this.sampler.sample(logits, p, row.rng, topN);
    let text: string;
    let finish: GenerateResult['finishReason'] | null = null;
    if (id === this.endTokenId && !p.ignoreEndOfTurn) {
      text = row.stop.push(row.decoder.flush()) + row.stop.flush();
      finish = 'stop';
    } else {
      text = row.stop.push(row.decoder.push(id));
      if (row.stop.stopped) finish = 'stop';
    }
    const completionTokens = row.tokens.length + 1;
    // prompt + completion never exceeds the context (maxSeqLen), so every sequence the
    // engine produces also fits the training graphs (SFT, reward model, PPO rollouts)
    const sequenceLength = row.length + 1;
    if (finish === null && (completionTokens >= p.maxTokens || sequenceLength >= this.cacheCapacity)) {
      text += row.stop.push(row.decoder.flush());
      text += row.stop.flush();
      finish = row.stop.stopped ? 'stop' : 'length';
    }
    const event: TokenEvent = { tokenId: id, text, logprob: this.sampler.chosenLogprob };
    if (topN > 0) {
      const alts: { text: string; logprob: number }[] = [];
      for (let j = 0; j < this.sampler.topCount; j++) alts.push({ text: this.tokenText[this.sampler.topIds[j]], logprob: this.sampler.topLogprobs[j] });
      event.topLogprobs = alts;
    }
    row.tokens.push(event);
    row.text += text;
    row.pendingToken = id;
    row.onToken?.(event);
    if (finish) this.finish(row, finish);
  }

  /** Drop finished/cancelled rows from the batch, keeping active rows compact in slots 0..n-1. */
  private removeFinishedRows(): void {
    for (let i = 0; i < this.active.length; ) {
      const row = this.active[i];
      if (row.cancelRequested && !row.done) {
        if (this.closed) this.fail(row, new EngineClosedError('the engine was closed while the request was running'));
        else this.finish(row, 'cancelled');
      }
      if (!row.done) {
        i++;
        continue;
      }
      const last = this.active.length - 1;
      if (i !== last) this.moveRow(this.active[last], i);
      this.active.pop();
    }
  }

  /** Positions the active rows need: each writes its next key at index `length`. */
  private activeNeed(): number {
    let need = 1;
    for (const row of this.active) if (row.length + 1 > need) need = row.length + 1;
    return need;
  }

  private moveRow(row: Row, toSlot: number): void {
    this.cache.moveSlot(row.slot, toSlot);
    this.active[toSlot] = row;
    row.slot = toSlot;
  }

  private result(row: Row, finishReason: GenerateResult['finishReason']): GenerateResult {
    return { text: row.text, finishReason, promptTokens: row.promptIds.length, completionTokens: row.tokens.length, tokens: row.tokens };
  }

  private finish(row: Row, reason: GenerateResult['finishReason']): void {
    if (row.done) return;
    row.done = true;
    this.detach(row);
    row.resolve(this.result(row, reason));
  }

  private fail(row: Row, error: unknown): void {
    if (row.done) return;
    row.done = true;
    this.detach(row);
    row.reject(error);
  }

  private detach(row: Row): void {
    if (row.abortListener && row.params.signal) row.params.signal.removeEventListener('abort', row.abortListener);
  }
}

/**
 * The engine lays the cache out as (S, NH, P, HS) for keys and values. A decode graph
 * expecting another layout (e.g. keys pre-transposed, (B, NH, HS, P)) could run without
 * error on a square-looking cache and return wrong logits, so refuse it at load, naming
 * the file. Not retriable: the artifact's serving graphs must be re-exported.
 */
function checkDecodeCacheLayout(decode: ort.InferenceSession, config: GptConfig, file: string): void {
  const HS = headSize(config);
  for (const name of ['past_k_0', 'past_v_0']) {
    const meta = decode.inputMetadata.find((m) => m.name === name);
    if (!meta || !meta.isTensor) throw new ArtifactError(`${file}: the decode graph has no tensor input ${name}`);
    const dims = meta.shape;
    if (dims.length !== 4 || dims[1] !== config.heads || typeof dims[2] === 'number' || dims[3] !== HS) {
      throw new ArtifactError(`${file}: ${name} has shape [${dims.join(', ')}], the engine's cache layout is [B, ${config.heads}, P, ${HS}] (P symbolic)`);
    }
  }
}

interface DecodeSamplingIo {
  /** The graph takes inv_temperature. */
  invTemperature: boolean;
  /** K of top_logprobs/top_ids, 0 when the graph has no sampling outputs. */
  topK: number;
  /** VS of the cdf output. */
  sampledVocab: number;
}

/** Which sampling inputs/outputs a decode graph has (see gpt/inference-graphs.ts). */
function decodeSamplingIo(decode: ort.InferenceSession, file: string): DecodeSamplingIo {
  const invTemperature = decode.inputNames.includes('inv_temperature');
  const names = ['top_logprobs', 'top_ids', 'cdf'];
  const present = names.filter((n) => decode.outputNames.includes(n));
  if (present.length === 0) return { invTemperature, topK: 0, sampledVocab: 0 };
  if (present.length !== names.length || !invTemperature) {
    throw new ArtifactError(`${file}: the decode graph has ${present.join(', ')} but not all of inv_temperature, ${names.join(', ')}`);
  }
  const dim = (name: string): number => {
    const meta = decode.outputMetadata.find((m) => m.name === name);
    const d = meta && meta.isTensor ? meta.shape[1] : undefined;
    if (typeof d !== 'number' || d < 1) throw new ArtifactError(`${file}: output ${name} needs a static second dimension, got ${String(d)}`);
    return d;
  };
  return { invTemperature, topK: dim('top_logprobs'), sampledVocab: dim('cdf') };
}

function checkedMaxBatch(opts: BatchEngineOptions): number {
  const maxBatch = opts.maxBatch ?? 32;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
  return maxBatch;
}

function emptyProfile(): BatchEngineProfile {
  return { decodeSteps: 0, decodeRowSteps: 0, decodeStepMs: 0, decodeRunMs: 0, decodeCacheWriteMs: 0, decodeSampleMs: 0, decodeGraphSampled: 0, prefillRuns: 0, prefillRows: 0, prefillMs: 0 };
}
