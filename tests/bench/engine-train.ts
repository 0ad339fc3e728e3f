// Training half of the engine benchmark (issue 3): tokens/s of a full SFT training step
// (forward + backward graph run + AdamW in TS) on onnxruntime-node, and the SAME model
// and batch in @tensorflow/tfjs (pure-JS CPU backend, tf.variableGrads-style training via
// optimizer.minimize) in the same process, their ratio, peak RSS while training, and
// the conditions. tfjs is ~50× slower, so it runs only a warm-up and a couple of steps.
//
// The tfjs model is a separate implementation of the same architecture, initialized
// from the same parameter blob; its first loss must equal ORT's (reported as a
// cross-check), so the two sides provably compute the same thing.

import { availableParallelism, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { GptConfig, REFERENCE_GPT_CONFIG, ParameterSet, gptParameterCount, headSize } from '../../src/engine/gpt/config.js';
import { initGptParameters } from '../../src/engine/gpt/params.js';
import { Trainer } from '../../src/engine/train/trainer.js';
import { Batch, TrainStep } from '../../src/engine/train/train-step.js';
import { defaultIntraOpThreads, releaseSessions } from '../../src/engine/graph/session.js';
import { AdamW } from '../../src/engine/optim/adamw.js';
import { clipGlobalNorm } from '../../src/engine/optim/clip.js';
import { cosineWithWarmup } from '../../src/engine/optim/schedule.js';
import { Rng } from '../../src/engine/rng.js';
import { sftLoss } from '../../src/rlhf/sft/sft.loss.js';

export interface BenchTrainingOptions {
  config?: GptConfig;
  batch?: number;
  seqLen?: number;
  ortWarmupSteps?: number;
  ortSteps?: number;
  tfjsWarmupSteps?: number;
  tfjsSteps?: number;
  intraOpThreads?: number;
  /** Skip the tfjs baseline (e.g. for a quick ORT-only measurement). */
  skipTfjs?: boolean;
  log?: (line: string) => void;
}

function syntheticBatch(config: GptConfig, B: number, T: number, seed: number): { batch: Batch; tokens: Int32Array; targets: Int32Array } {
  const rng = new Rng(seed);
  const tokens = new Int32Array(B * T), targets = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) {
    tokens[i] = rng.nextInt(config.vocabSize);
    targets[i] = rng.nextInt(config.vocabSize);
  }
  const batch: Batch = {
    tokens: { data: BigInt64Array.from(tokens, (x) => BigInt(x)), shape: [B, T] },
    targets: { data: BigInt64Array.from(targets, (x) => BigInt(x)), shape: [B, T] },
    loss_mask: { data: new Float32Array(B * T).fill(1), shape: [B, T] },
  };
  return { batch, tokens, targets };
}

// ------------------------------------------------------------ tfjs baseline

type TfVars = Map<string, tf.Variable>;

function tfLayerNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), w), b);
}

function tfGelu(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(x, tf.mul(x, x)))));
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
}

/** Mean cross-entropy of the same GPT written with tfjs ops. tokens/targets (B, T) int32. */
function tfLoss(v: TfVars, config: GptConfig, tokens: tf.Tensor2D, targets: tf.Tensor2D, causal: tf.Tensor2D): tf.Scalar {
  const [B, T] = tokens.shape;
  const C = config.channels, NH = config.heads, HS = headSize(config), V = config.vocabSize;
  const p = (n: string): tf.Variable => v.get(n)!;
  let x: tf.Tensor = tf.add(tf.gather(p('wte'), tokens), tf.slice(p('wpe'), [0, 0], [T, C])); // (B, T, C)
  const heads = (t: tf.Tensor): tf.Tensor => tf.transpose(tf.reshape(t, [B, T, NH, HS]), [0, 2, 1, 3]); // (B, NH, T, HS)
  for (let l = 0; l < config.layers; l++) {
    const q = (n: string): tf.Variable => p(`h.${l}.${n}`);
    const ln1 = tf.reshape(tfLayerNorm(x, q('ln1.w'), q('ln1.b')), [B * T, C]);
    const qkv = tf.add(tf.matMul(ln1, q('attn.qkv.w')), q('attn.qkv.b')); // (BT, 3C)
    const [q0, k0, v0] = tf.split(qkv, 3, 1);
    const scores = tf.add(tf.mul(tf.matMul(heads(q0!), heads(k0!), false, true), 1 / Math.sqrt(HS)), causal); // (B, NH, T, T)
    const y = tf.matMul(tf.softmax(scores), heads(v0!)); // (B, NH, T, HS)
    const merged = tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [B * T, C]);
    x = tf.add(x, tf.reshape(tf.add(tf.matMul(merged, q('attn.proj.w')), q('attn.proj.b')), [B, T, C]));
    const ln2 = tf.reshape(tfLayerNorm(x, q('ln2.w'), q('ln2.b')), [B * T, C]);
    const h = tfGelu(tf.add(tf.matMul(ln2, q('mlp.fc.w')), q('mlp.fc.b')));
    x = tf.add(x, tf.reshape(tf.add(tf.matMul(h, q('mlp.proj.w')), q('mlp.proj.b')), [B, T, C]));
  }
  const hidden = tf.reshape(tfLayerNorm(x, p('lnf.w'), p('lnf.b')), [B * T, C]);
  const logits = tf.matMul(hidden, p('wte'), false, true); // (BT, V) tied head
  const logp = tf.logSoftmax(logits);
  const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.reshape(targets, [B * T]), V)), 1);
  return tf.neg(tf.mean(picked)) as tf.Scalar;
}

async function benchTfjs(config: GptConfig, params: ParameterSet, B: number, T: number, tokens: Int32Array, targets: Int32Array, warmup: number, steps: number): Promise<{ tokensPerSecond: number; stepMs: number; firstLoss: number }> {
  await tf.setBackend('cpu');
  await tf.ready();
  const vars: TfVars = new Map();
  for (const s of params.layout) vars.set(s.name, tf.variable(tf.tensor(params.view(s.name).slice(), [...s.shape]), true, `v_${s.name}`));
  const tok = tf.tensor2d(tokens, [B, T], 'int32');
  const tgt = tf.tensor2d(targets, [B, T], 'int32');
  const mask = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -1e9;
  const causal = tf.tensor2d(mask, [T, T]);
  // tfjs has no AdamW; Adam costs the same per parameter, which is what this measures.
  const optimizer = tf.train.adam(1e-3, 0.9, 0.95, 1e-8);
  const varList = [...vars.values()];
  let firstLoss = Number.NaN;
  let timedMs = 0;
  for (let s = 0; s < warmup + steps; s++) {
    const t0 = performance.now();
    const loss = optimizer.minimize(() => tfLoss(vars, config, tok, tgt, causal), true, varList)!;
    const value = (await loss.data())[0]!;
    loss.dispose();
    if (s === 0) firstLoss = value;
    if (s >= warmup) timedMs += performance.now() - t0;
  }
  for (const v of varList) v.dispose();
  tok.dispose(); tgt.dispose(); causal.dispose();
  optimizer.dispose();
  const stepMs = timedMs / steps;
  return { tokensPerSecond: (B * T) / (stepMs / 1000), stepMs, firstLoss };
}

// ------------------------------------------------------------------- entry

export async function benchTraining(opts: BenchTrainingOptions = {}): Promise<Record<string, unknown>> {
  const config = opts.config ?? REFERENCE_GPT_CONFIG;
  const B = opts.batch ?? 8;
  const T = opts.seqLen ?? config.maxSeqLen;
  const threads = opts.intraOpThreads ?? defaultIntraOpThreads();
  const log = opts.log ?? ((): void => undefined);
  const { batch, tokens, targets } = syntheticBatch(config, B, T, 1);

  const params = initGptParameters(config, 1234);
  const initial = params.clone(); // tfjs starts from the same weights
  const ortWarmup = opts.ortWarmupSteps ?? 2;
  const ortSteps = opts.ortSteps ?? 5;
  const trainer = await Trainer.create(config, sftLoss, params, {
    schedule: { maxLr: 1e-3, warmupSteps: 0, totalSteps: ortWarmup + ortSteps },
    intraOpThreads: threads,
  });
  let ortMs = 0;
  let ortFirstLoss = Number.NaN;
  const stepTimes: number[] = [];
  for (let s = 0; s < ortWarmup + ortSteps; s++) {
    const t0 = performance.now();
    const p = await trainer.trainStep([batch]);
    const ms = performance.now() - t0;
    if (s === 0) ortFirstLoss = p.loss;
    if (s >= ortWarmup) { ortMs += ms; stepTimes.push(ms); }
    log(`ort step ${s + 1}/${ortWarmup + ortSteps}: ${ms.toFixed(0)} ms, loss ${p.loss.toFixed(4)}`);
  }
  const ortStepMs = ortMs / ortSteps;
  const ortTokensPerSecond = (B * T) / (ortStepMs / 1000);
  const peakRssAfterOrtMiB = process.resourceUsage().maxRSS / 1024;
  // Model FLOPs per step: 6·N·tokens (Kaplan et al. 2020) + attention scores (6·L·B·T²·C, fwd + bwd).
  const flops = 6 * gptParameterCount(config) * B * T + 6 * config.layers * B * T * T * config.channels;

  let tfjs: Awaited<ReturnType<typeof benchTfjs>> | null = null;
  if (!opts.skipTfjs) {
    const tfWarmup = opts.tfjsWarmupSteps ?? 1;
    const tfSteps = opts.tfjsSteps ?? 2;
    log(`tfjs: ${tfWarmup} warm-up + ${tfSteps} timed steps (slow)…`);
    tfjs = await benchTfjs(config, initial, B, T, tokens, targets, tfWarmup, tfSteps);
  }

  return {
    config,
    parameters: gptParameterCount(config),
    batch: B,
    seqLen: T,
    tokensPerStep: B * T,
    intraOpThreads: threads,
    cores: availableParallelism(),
    ort: {
      tokensPerSecond: { value: ortTokensPerSecond, unit: 'tokens/s' },
      stepMs: { value: ortStepMs, unit: 'ms', min: Math.min(...stepTimes), max: Math.max(...stepTimes) },
      gflopsPerSecond: { value: flops / (ortStepMs / 1000) / 1e9, unit: 'GFLOP/s' },
      warmupSteps: ortWarmup,
      steps: ortSteps,
      firstLoss: ortFirstLoss,
    },
    tfjs: tfjs && {
      backend: 'cpu (@tensorflow/tfjs pure JS)',
      tokensPerSecond: { value: tfjs.tokensPerSecond, unit: 'tokens/s' },
      stepMs: { value: tfjs.stepMs, unit: 'ms' },
      firstLoss: tfjs.firstLoss,
      warmupSteps: opts.tfjsWarmupSteps ?? 1,
      steps: opts.tfjsSteps ?? 2,
    },
    ratioOrtOverTfjs: tfjs ? { value: ortTokensPerSecond / tfjs.tokensPerSecond, unit: 'x', goal: 30 } : null,
    firstLossAbsDiff: tfjs ? Math.abs(ortFirstLoss - tfjs.firstLoss) : null,
    peakRssMiB: { value: peakRssAfterOrtMiB, unit: 'MiB', note: 'process max RSS after the ORT training steps (before tfjs)' },
    modelFlopsPerStep: flops,
  };
}

// ------------------------------------------- today's step vs the engine's, side by side
//
// The machine is shared, so a step time alone means little; what counts is the ratio of
// two variants measured in the same run, in alternation, on the same batch:
//   today        the training step as it was before issue 11's work: the graph exactly as
//                autodiff builds it (no graph passes), ORT pool threads spinning (ORT's
//                default), and the Trainer's loop (finite checks, clipping, AdamW);
//   engine       Trainer.trainStep as shipped (graph passes, no spinning);
//   noPasses     the engine without the graph passes (no spinning either): today/noPasses
//                is the threads' share of the speed-up, noPasses/engine the passes'.
// Each round builds fresh sessions for every variant (a session's thread pool keeps its
// luck with the OS scheduler for its whole life: identical sessions differed by 3× on
// the loaded machine), warms each up with one step, then alternates single steps.

export type SpeedupVariant = 'today' | 'engine' | 'noPasses';
export const SPEEDUP_VARIANTS: readonly SpeedupVariant[] = ['today', 'engine', 'noPasses'];

export interface BenchSpeedupOptions {
  config?: GptConfig;
  batches?: number[];
  seqLen?: number;
  rounds?: number;
  stepsPerRound?: number;
  intraOpThreads?: number;
  log?: (line: string) => void;
}

interface StepRunner {
  step(): Promise<number>;
}

/** The Trainer's step (one micro-batch) over a TrainStep with the given session and graph options. */
async function loopRunner(config: GptConfig, batch: Batch, spinning: boolean, graphPasses: boolean, threads: number, totalSteps: number): Promise<StepRunner> {
  const params = initGptParameters(config, 1234);
  const runner = await TrainStep.create(config, sftLoss, { intraOpThreads: threads, spinning, ...(graphPasses ? {} : { graphPasses: false as const }) });
  const grads = new Float32Array(params.data.length);
  const optimizer = new AdamW(params.layout);
  const schedule = { maxLr: 1e-3, warmupSteps: 0, totalSteps };
  let step = 0;
  return {
    async step(): Promise<number> {
      const out = await runner.run(params.data, batch, grads);
      if (!Number.isFinite(out.loss)) throw new Error(`non-finite loss ${out.loss}`);
      for (let i = 0; i < grads.length; i++) if (!Number.isFinite(grads[i]!)) throw new Error(`non-finite gradient at ${i}`);
      clipGlobalNorm(grads, 1.0);
      optimizer.update(params.data, grads, cosineWithWarmup(step++, schedule));
      return out.loss;
    },
  };
}

async function makeRunner(variant: SpeedupVariant, config: GptConfig, batch: Batch, threads: number, totalSteps: number): Promise<StepRunner> {
  switch (variant) {
    case 'today':
      return loopRunner(config, batch, true, false, threads, totalSteps);
    case 'noPasses':
      return loopRunner(config, batch, false, false, threads, totalSteps);
    case 'engine': {
      const trainer = await Trainer.create(config, sftLoss, initGptParameters(config, 1234), { schedule: { maxLr: 1e-3, warmupSteps: 0, totalSteps }, intraOpThreads: threads });
      return { step: async () => (await trainer.trainStep([batch])).loss };
    }
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function benchTrainingSpeedup(opts: BenchSpeedupOptions = {}): Promise<Record<string, unknown>> {
  const config = opts.config ?? REFERENCE_GPT_CONFIG;
  const batches = opts.batches ?? [2, 8];
  const T = opts.seqLen ?? config.maxSeqLen;
  const rounds = opts.rounds ?? 5;
  const stepsPerRound = opts.stepsPerRound ?? 3;
  const threads = opts.intraOpThreads ?? defaultIntraOpThreads();
  const log = opts.log ?? ((): void => undefined);
  const loadBefore = loadavg()[0]!;
  const perBatch: Record<string, unknown>[] = [];
  for (const B of batches) {
    const { batch } = syntheticBatch(config, B, T, 1);
    const times: Record<SpeedupVariant, number[]> = { today: [], engine: [], noPasses: [] };
    const roundRatios: number[] = [];
    const firstLoss: Partial<Record<SpeedupVariant, number>> = {};
    for (let r = 0; r < rounds; r++) {
      const runners = new Map<SpeedupVariant, StepRunner>();
      for (const v of SPEEDUP_VARIANTS) runners.set(v, await makeRunner(v, config, batch, threads, stepsPerRound + 1));
      for (const v of SPEEDUP_VARIANTS) {
        const loss = await runners.get(v)!.step(); // warm-up: first-run allocations and kernel selection
        if (r === 0) firstLoss[v] = loss;
      }
      const round: Record<SpeedupVariant, number[]> = { today: [], engine: [], noPasses: [] };
      for (let s = 0; s < stepsPerRound; s++) {
        // Rotate the order so no variant always runs right after another's allocations.
        const order = SPEEDUP_VARIANTS.map((_, i) => SPEEDUP_VARIANTS[(i + s + r) % SPEEDUP_VARIANTS.length]!);
        for (const v of order) {
          const t0 = performance.now();
          await runners.get(v)!.step();
          round[v].push(performance.now() - t0);
        }
      }
      for (const v of SPEEDUP_VARIANTS) times[v].push(...round[v]);
      roundRatios.push(median(round.today) / median(round.engine));
      log(`batch ${B}×${T} round ${r + 1}/${rounds}: ` + SPEEDUP_VARIANTS.map((v) => `${v} ${median(round[v]).toFixed(0)} ms`).join(', '));
      await releaseSessions();
    }
    const figures = (v: SpeedupVariant): Record<string, unknown> => ({
      tokensPerSecond: { value: (B * T) / (median(times[v]) / 1000), unit: 'tokens/s' },
      stepMs: { value: median(times[v]), unit: 'ms', min: Math.min(...times[v]), max: Math.max(...times[v]), samples: times[v].length },
      firstLoss: firstLoss[v],
    });
    perBatch.push({
      batch: B,
      seqLen: T,
      tokensPerStep: B * T,
      today: figures('today'),
      engine: figures('engine'),
      noPasses: figures('noPasses'),
      // Paired: each round's variants ran alternately under the same load, so the round's
      // ratio is the comparison; pooled medians mix rounds of different load.
      speedup: { value: median(roundRatios), unit: 'x', goal: 1.25, note: 'median over rounds of (median step today / median step engine) within the round' },
      speedupPerRound: { values: roundRatios, min: Math.min(...roundRatios), max: Math.max(...roundRatios), unit: 'x' },
      ratioOfPooledMedians: { value: median(times.today) / median(times.engine), unit: 'x' },
      speedupThreads: { value: median(times.today) / median(times.noPasses), unit: 'x', note: 'no spinning alone: today / noPasses' },
      speedupGraphPasses: { value: median(times.noPasses) / median(times.engine), unit: 'x', note: 'graph passes alone: noPasses / engine' },
      firstLossAbsDiff: Math.abs(firstLoss.today! - firstLoss.engine!),
    });
  }
  return {
    config,
    intraOpThreads: threads,
    cores: availableParallelism(),
    loadAverage1m: { before: loadBefore, after: loadavg()[0]! },
    rounds,
    stepsPerRound,
    variants: {
      today: 'graph as autodiff builds it, ORT threads spinning (the step before issue 11)',
      engine: 'Trainer.trainStep as shipped: dead gradient nodes dropped (graph passes), no spinning',
      noPasses: 'graph as autodiff builds it, no spinning',
    },
    batches: perBatch,
    peakRssMiB: { value: process.resourceUsage().maxRSS / 1024, unit: 'MiB', note: 'process max RSS after the side-by-side training runs' },
  };
}
