// Training half of the engine benchmark (issue 3): tokens/s of a full SFT training step
// (forward + backward graph run + AdamW in TS) on onnxruntime-node, and the SAME model
// and batch in @tensorflow/tfjs (pure-JS CPU backend, tf.variableGrads-style training via
// optimizer.minimize) in the same process, their ratio, peak RSS while training, and
// the conditions. tfjs is ~50× slower, so it runs only a warm-up and a couple of steps.
//
// The tfjs model is a separate implementation of the same architecture, initialized
// from the same parameter blob; its first loss must equal ORT's (reported as a
// cross-check), so the two sides provably compute the same thing.

import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { GptConfig, REFERENCE_GPT_CONFIG, ParameterSet, gptParameterCount, headSize } from '../../src/engine/gpt/config.js';
import { initGptParameters } from '../../src/engine/gpt/params.js';
import { Trainer } from '../../src/engine/train/trainer.js';
import { Batch } from '../../src/engine/train/train-step.js';
import { defaultIntraOpThreads } from '../../src/engine/graph/session.js';
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
