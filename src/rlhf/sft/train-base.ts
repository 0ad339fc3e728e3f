// The base policy: a tokenizer trained on the SFT corpus and a GPT trained on it with
// supervised fine-tuning (masked cross-entropy on completion tokens only — the prompt is
// context, not something the policy should learn to write; InstructGPT, Ouyang et al.
// 2022, §3.5). It is the starting point of every RLHF iteration and the frozen KL
// reference of the first PPO run.
//
// Reproducible: the same corpus, seed, config and step count give bit-identical weights
// (seeded init, seeded shuffling, deterministic tokenizer training, ORT on CPU).
// `runTrainBase` turns a time budget into a step count ONCE (by timing a few steps) and
// records it in the manifest, so a rerun with that step count reproduces the artifact.

import { createHash } from 'node:crypto';
import type { PromptSegment } from '../../engine/chat-template.js';
import { writeArtifact, type ArtifactManifest } from '../../engine/artifact/artifact.js';
import { REFERENCE_GPT_CONFIG, type GptConfig, type ParameterSet } from '../../engine/gpt/config.js';
import { initGptParameters } from '../../engine/gpt/params.js';
import { Rng } from '../../engine/rng.js';
import { BpeTokenizer, trainBpeTokenizer } from '../../engine/tokenizer/bpe-tokenizer.js';
import { Trainer, type TrainProgress } from '../../engine/train/trainer.js';
import { TrainingCancelledError } from '../../engine/train/training-program.js';
import type { Batch } from '../../engine/train/train-step.js';
import { sftLoss } from './sft.loss.js';

export interface BasePolicyExample {
  prompt: PromptSegment[];
  completion: PromptSegment[];
}

export interface TrainBasePolicyOptions {
  corpus: readonly BasePolicyExample[];
  seed: number;
  /** Optimizer steps. */
  steps: number;
  /** Architecture; vocabSize is always set from the tokenizer. Default REFERENCE_GPT_CONFIG. */
  config?: Partial<GptConfig>;
  /** Tokenizer to use; default: one trained on the corpus with `vocabSize`. */
  tokenizer?: BpeTokenizer;
  /** Tokenizer vocabulary when training one. Default 1024. */
  vocabSize?: number;
  /** Sequences per optimizer step. Default 16. */
  batchSize?: number;
  /** Peak learning rate (warm-up then cosine to maxLr/10). Default 2e-3. */
  maxLr?: number;
  intraOpThreads?: number;
  /** Let ORT's pool threads spin between runs (default false; see graph/session.ts). */
  spinning?: boolean;
  onProgress?: (p: TrainProgress) => void;
  /** Read before every optimizer step; true stops the run there (cooperative cancel). */
  cancelRequested?: () => boolean;
}

export interface TrainBasePolicyResult {
  tokenizer: BpeTokenizer;
  config: GptConfig;
  params: ParameterSet;
  /** Optimizer steps completed (fewer than asked when cancelled). */
  steps: number;
  /** True when cancelRequested stopped the run early. */
  cancelled: boolean;
  finalLoss: number;
  /** Loss of every step, in order. */
  losses: number[];
  examplesUsed: number;
  /** Examples longer than the context (dropped rather than cut: a cut loses the end-of-turn token). */
  examplesDropped: number;
}

interface EncodedExample {
  ids: Int32Array;
  promptLength: number;
}

export function corpusTexts(corpus: readonly BasePolicyExample[]): string[] {
  const texts: string[] = [];
  for (const ex of corpus) for (const seg of [...ex.prompt, ...ex.completion]) if ('text' in seg) texts.push(seg.text);
  return texts;
}

/** Content address of a corpus: the dataset snapshot id recorded in the artifact. */
export function corpusHash(corpus: readonly BasePolicyExample[]): string {
  return createHash('sha256').update(JSON.stringify(corpus)).digest('hex');
}

function encodeCorpus(corpus: readonly BasePolicyExample[], tokenizer: BpeTokenizer, maxSeqLen: number): { examples: EncodedExample[]; dropped: number } {
  const examples: EncodedExample[] = [];
  let dropped = 0;
  for (const ex of corpus) {
    const prompt = tokenizer.encodeSegments(ex.prompt);
    const completion = tokenizer.encodeSegments(ex.completion);
    // the same bound the BatchEngine enforces: prompt + completion ≤ maxSeqLen
    if (prompt.length + completion.length > maxSeqLen || completion.length === 0 || prompt.length === 0) {
      dropped++;
      continue;
    }
    examples.push({ ids: Int32Array.from([...prompt, ...completion]), promptLength: prompt.length });
  }
  return { examples, dropped };
}

/**
 * One SFT batch, right-padded to the longest sequence in it (T = longest − 1):
 * tokens[t] predicts targets[t] = ids[t + 1]; loss_mask is 1 where the target is a
 * completion token (including the end-of-turn marker), 0 on prompt and padding.
 */
export function sftBatch(examples: readonly EncodedExample[], padId: number): Batch {
  const B = examples.length;
  const T = Math.max(...examples.map((e) => e.ids.length)) - 1;
  const tokens = new BigInt64Array(B * T).fill(BigInt(padId));
  const targets = new BigInt64Array(B * T).fill(BigInt(padId));
  const lossMask = new Float32Array(B * T);
  examples.forEach((e, b) => {
    for (let t = 0; t + 1 < e.ids.length; t++) {
      tokens[b * T + t] = BigInt(e.ids[t]);
      targets[b * T + t] = BigInt(e.ids[t + 1]);
      if (t + 1 >= e.promptLength) lossMask[b * T + t] = 1;
    }
  });
  return { tokens: { data: tokens, shape: [B, T] }, targets: { data: targets, shape: [B, T] }, loss_mask: { data: lossMask, shape: [B, T] } };
}

/** Epoch-wise seeded shuffling into fixed-size batches (the last partial batch of an epoch is skipped). */
class BatchSampler {
  private order: number[] = [];
  private cursor = 0;
  constructor(
    private readonly examples: readonly EncodedExample[],
    private readonly batchSize: number,
    private readonly rng: Rng,
    private readonly padId: number,
  ) {}
  next(): Batch {
    if (this.cursor + this.batchSize > this.order.length) {
      this.order = this.rng.shuffle(Array.from(this.examples.keys()));
      this.cursor = 0;
    }
    const picked = this.order.slice(this.cursor, this.cursor + this.batchSize).map((i) => this.examples[i]);
    this.cursor += this.batchSize;
    return sftBatch(picked, this.padId);
  }
}

function prepare(opts: Omit<TrainBasePolicyOptions, 'steps' | 'onProgress'>): { tokenizer: BpeTokenizer; config: GptConfig; examples: EncodedExample[]; dropped: number; batchSize: number } {
  if (opts.corpus.length === 0) throw new RangeError('corpus: must contain at least one example');
  const tokenizer = opts.tokenizer ?? trainBpeTokenizer({ corpus: corpusTexts(opts.corpus), vocabSize: opts.vocabSize ?? 1024 });
  const config: GptConfig = { ...REFERENCE_GPT_CONFIG, ...opts.config, vocabSize: tokenizer.vocabSize };
  const { examples, dropped } = encodeCorpus(opts.corpus, tokenizer, config.maxSeqLen);
  const batchSize = Math.min(opts.batchSize ?? 16, examples.length);
  if (batchSize === 0) throw new RangeError(`corpus: every example is longer than the context (${config.maxSeqLen} tokens)`);
  return { tokenizer, config, examples, dropped, batchSize };
}

/** Train the base policy (pure: no files; see runTrainBase for the artifact). */
export async function trainBasePolicy(opts: TrainBasePolicyOptions): Promise<TrainBasePolicyResult> {
  if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new RangeError(`steps: must be a positive integer, got ${opts.steps}`);
  const { tokenizer, config, examples, dropped, batchSize } = prepare(opts);
  const params = initGptParameters(config, opts.seed);
  const maxLr = opts.maxLr ?? 2e-3;
  const trainer = await Trainer.create(config, sftLoss, params, {
    schedule: { maxLr, warmupSteps: Math.min(100, Math.ceil(opts.steps / 10)), totalSteps: opts.steps },
    ...(opts.intraOpThreads !== undefined ? { intraOpThreads: opts.intraOpThreads } : {}),
    ...(opts.spinning !== undefined ? { spinning: opts.spinning } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  // a separate stream for data order, so changing the init scheme does not reorder batches
  const sampler = new BatchSampler(examples, batchSize, new Rng(opts.seed ^ 0x5f7d), tokenizer.specialId('<|pad|>'));
  const losses: number[] = [];
  let cancelled = false;
  for (let s = 0; s < opts.steps; s++) {
    if (opts.cancelRequested?.()) {
      cancelled = true;
      break;
    }
    losses.push((await trainer.trainStep([sampler.next()])).loss);
  }
  return { tokenizer, config, params: trainer.params, steps: losses.length, cancelled, finalLoss: losses[losses.length - 1] ?? Number.NaN, losses, examplesUsed: examples.length, examplesDropped: dropped };
}

/** Seconds per SFT step on this machine for this corpus (timed on a throwaway model). */
async function measureStepSeconds(prep: ReturnType<typeof prepare>, seed: number, intraOpThreads?: number): Promise<number> {
  const trainer = await Trainer.create(prep.config, sftLoss, initGptParameters(prep.config, seed), {
    schedule: { maxLr: 1e-4, warmupSteps: 0, totalSteps: 10 },
    ...(intraOpThreads !== undefined ? { intraOpThreads } : {}),
  });
  const sampler = new BatchSampler(prep.examples, prep.batchSize, new Rng(seed), prep.tokenizer.specialId('<|pad|>'));
  await trainer.trainStep([sampler.next()]); // warm-up: session creation, arenas
  const timed = 4;
  const t0 = performance.now();
  for (let i = 0; i < timed; i++) await trainer.trainStep([sampler.next()]);
  return (performance.now() - t0) / 1000 / timed;
}

export interface RunTrainBaseOptions {
  outDir: string;
  seed: number;
  corpus: BasePolicyExample[];
  /** Time budget; turned into a step count by timing a few steps. Default 10. Ignored when `steps` is given. */
  minutes?: number;
  steps?: number;
  config?: Partial<GptConfig>;
  vocabSize?: number;
  batchSize?: number;
  maxLr?: number;
  intraOpThreads?: number;
  spinning?: boolean;
  /** Write params.bin (default true). false: weights only in the .onnx files (smaller; see artifact.ts). */
  paramsBlob?: boolean;
  onProgress?: (p: TrainProgress) => void;
  /** Read between optimizer steps; true stops the run (see checkpointOnCancel). */
  cancelRequested?: () => boolean;
  /**
   * What a cancelled run leaves behind: false (default) — nothing, the run rejects with
   * TrainingCancelledError; true — the artifact of the steps completed, its manifest
   * noting `cancelledAtStep`.
   */
  checkpointOnCancel?: boolean;
}

/** Train the base policy and write it as a servable artifact (what `outerloop train-base` runs). */
export async function runTrainBase(opts: RunTrainBaseOptions): Promise<{ manifest: ArtifactManifest; result: TrainBasePolicyResult; stepSeconds: number | null }> {
  const prep = prepare(opts);
  let steps = opts.steps;
  let stepSeconds: number | null = null;
  if (steps === undefined) {
    const minutes = opts.minutes ?? 10;
    if (!(minutes > 0)) throw new RangeError(`minutes: must be positive, got ${minutes}`);
    stepSeconds = await measureStepSeconds(prep, opts.seed, opts.intraOpThreads);
    steps = Math.max(1, Math.floor((minutes * 60) / stepSeconds));
  }
  const result = await trainBasePolicy({ ...opts, tokenizer: prep.tokenizer, steps });
  if (result.cancelled && !opts.checkpointOnCancel) throw new TrainingCancelledError(result.steps);
  if (result.steps === 0) throw new TrainingCancelledError(0);
  steps = result.steps;
  const manifest = await writeArtifact(opts.outDir, {
    config: result.config,
    params: result.params,
    tokenizer: result.tokenizer,
    paramsBlob: opts.paramsBlob ?? true,
    meta: {
      kind: 'policy',
      parentArtifactId: null,
      trainingRunId: `train-base-seed-${opts.seed}-steps-${steps}`,
      datasetSnapshotId: corpusHash(opts.corpus),
      notes: {
        trainer: 'sft',
        seed: opts.seed,
        steps,
        batchSize: prep.batchSize,
        maxLr: opts.maxLr ?? 2e-3,
        finalLoss: result.finalLoss,
        meanLossLast50: mean(result.losses.slice(-50)),
        firstLoss: result.losses[0],
        examplesUsed: result.examplesUsed,
        examplesDropped: result.examplesDropped,
        ...(stepSeconds !== null ? { measuredStepSeconds: stepSeconds, minutesBudget: opts.minutes ?? 10 } : {}),
        ...(result.cancelled ? { cancelledAtStep: result.steps } : {}),
      },
    },
  });
  return { manifest, result, stepSeconds };
}

function mean(xs: number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}
