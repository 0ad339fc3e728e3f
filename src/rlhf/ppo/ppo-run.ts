// The PPO loop for RLHF (Ziegler et al. 2019; Stiennon et al. 2020; Ouyang et al. 2022):
// per step, a rollout batch from the current policy (rollout.ts), per-token rewards with the
// KL penalty and GAE (advantages.ts), then `epochs` passes of `miniBatches` clipped-surrogate
// updates (ppo.loss.ts) on the engine's training graph, then the KL controller.
//
// References and where this differs:
// - OpenRLHF (PPOTrainer / experience maker) and TRL's former PPOTrainer fix the order
//   rollout → score → reward shaping → GAE → whitening → epochs × minibatches; so does this.
// - Value head on the policy trunk by default (TRL's AutoModelForCausalLMWithValueHead), with
//   a separate critic available (`critic: 'separate'`, OpenRLHF's default: its own weights
//   and optimizer, initialised from `criticInit`, e.g. the RM). Measured (npm run bench --
//   ppo, reference GPT, 64 prompts × 48 tokens, 2 loaded cores): shared 5.5 s per step
//   (update 3.2 s, scoring 0.66 s); separate 7.9 s per step (update 5.4 s, scoring 0.99 s)
//   — 64 steps would take ~8.5 min instead of ~6, over the budget. On the toy task
//   (tests/unit/rlhf/ppo, 30 steps, 3 seeds) the separate critic explained the returns
//   better (explained variance over the last 10 steps 0.18–0.51 vs −0.18–0.13) and reached
//   the optimum on 2 seeds of 3, the shared head on 2 of 3 as well. So the shared head is
//   the default for its cost; its price is the value loss's gradient entering the trunk,
//   damped by value_coef = 0.1 (TRL's vf_coef) and value clipping. Revisit once the RM exists
//   (a critic initialised from a trained RM starts far better than one from the policy).
// - Reward normalisation is a running mean/std over every score seen so far (OpenRLHF's
//   `normalize_reward`; TRL's `use_score_norm`), then clipping to ±rewardClip; both off by
//   default because the scenario's rewards are already on a unit scale.
// - Randomness is derived from (seed, step) rather than one stream: the prompts of step s,
//   the sampling seeds and the minibatch order are functions of the run's seed and s, so a
//   resumed run needs no serialised RNG state to draw exactly what the uninterrupted run drew.
// - The KL ceiling (a hard stop) and the dead-run detectors (run-health.ts) are not in the
//   references; they end a run with a reason instead of letting it degrade silently.

import { writeArtifact, readArtifact, type ArtifactManifest } from '../../engine/artifact/artifact.js';
import { checkpointDirName, latestCheckpoint, readTrainingState, writeTrainingState } from '../../engine/artifact/training-state.js';
import { assertFinite } from '../../engine/errors.js';
import type { GptConfig, ParameterSet } from '../../engine/gpt/config.js';
import { Rng } from '../../engine/rng.js';
import { BatchEngine } from '../../engine/runtime/batch-engine.js';
import { GptScorer } from '../../engine/train/scorer.js';
import type { Batch } from '../../engine/train/train-step.js';
import { Trainer, type TrainProgress } from '../../engine/train/trainer.js';
import { TrainingCancelledError } from '../../engine/train/training-program.js';
import type { BpeTokenizer } from '../../engine/tokenizer/bpe-tokenizer.js';
import type { EnsembleObjective } from '../reward/ensemble.js';
import { batchAdvantages, DEFAULT_GAE, type GaeOptions } from './advantages.js';
import { AdaptiveKlController, FixedKlController, type KlController } from './kl-controller.js';
import { summarizeKl } from './kl.js';
import { ppoLoss } from './ppo.loss.js';
import type { RewardFunction } from './reward-function.js';
import { collectRollout, scoreResponses, type RolloutBatch } from './rollout.js';
import { DEFAULT_RUN_HEALTH, mean, RunHealth, std, type HealthFinding, type RunHealthOptions, type RunHealthState } from './run-health.js';

export type KlControl = { kind: 'fixed'; beta: number } | { kind: 'adaptive'; initial: number; target: number; horizon: number };

export interface PpoOptions {
  /** PPO steps (rollout batches). */
  steps: number;
  promptsPerStep: number;
  /** Max generated tokens per response. */
  maxTokens: number;
  seed: number;
  /** Passes over each rollout batch. Default 2. */
  epochs?: number;
  /** Optimizer steps per epoch (the batch split into this many minibatches). Default 2. */
  miniBatches?: number;
  /** Adam learning rate (constant). Default 1e-4. */
  lr?: number;
  clipEps?: number;
  valueClip?: number;
  valueCoef?: number;
  entropyCoef?: number;
  gae?: GaeOptions;
  kl?: KlControl;
  /** Subtracted from the score of a response cut at max tokens. Default 0. */
  truncationPenalty?: number;
  /** Normalise scores by a running mean/std. Default false. */
  rewardNormalize?: boolean;
  /** Clip (normalised) scores to ±this. Default none. */
  rewardClip?: number | null;
  /** Stop the run (a valid result) once the rollout's KL (k3, nats per response) exceeds this. */
  klCeiling?: number | null;
  objective?: EnsembleObjective;
  maxGradNorm?: number;
  health?: RunHealthOptions;
  /** Rows per scoring-graph run. Default 16. */
  scoreBatch?: number;
  intraOpThreads?: number;
  /**
   * 'shared' (default): the value head on the policy's trunk. 'separate': a critic of the
   * same architecture with its own weights and optimizer (OpenRLHF), initialised from
   * `criticInit` (e.g. the reward model) or the starting policy. See the header.
   */
  critic?: 'shared' | 'separate';
  /** Write a checkpoint every k steps (and after the last). 0: only after the last. Default 0. */
  checkpointEvery?: number;
}

export interface PpoStepMetrics {
  step: number;
  reward_mean: number;
  reward_std: number;
  /** Mean of the scores the reward used (after the truncation penalty, before normalisation). */
  score_mean: number;
  kl_k1: number;
  kl_k3: number;
  beta: number;
  entropy: number;
  clip_fraction: number;
  approx_kl: number;
  pg_loss: number;
  value_loss: number;
  explained_variance: number;
  response_length_mean: number;
  response_length_p90: number;
  eos_rate: number;
  grad_norm: number;
  /** Generated tokens per second of the whole step. */
  tokens_per_second: number;
  generated_tokens: number;
  /** Token positions (rows × T) through the training graph in this step. */
  update_tokens: number;
  rollout_ms: number;
  reward_ms: number;
  policy_scoring_ms: number;
  reference_ms: number;
  update_ms: number;
  step_ms: number;
}

export interface PpoCheckpoint {
  step: number;
  dir: string;
  artifactId: string;
  metrics: PpoStepMetrics;
}

export type PpoStopReason = { kind: 'completed' } | { kind: 'kl_ceiling'; detail: string } | { kind: 'unhealthy'; detail: string };

export interface PpoResult {
  stop: PpoStopReason;
  /** Steps completed (including those before a resume). */
  steps: number;
  resumedFromStep: number;
  history: PpoStepMetrics[];
  findings: HealthFinding[];
  checkpoints: PpoCheckpoint[];
  /** The policy's weights at the end (not a copy). */
  params: ParameterSet;
  finalBeta: number;
}

export interface PpoRunInput {
  config: GptConfig;
  tokenizer: BpeTokenizer;
  /** Starting policy (copied; not modified). Ignored for the weights when resuming. */
  policy: ParameterSet;
  /** Frozen reference (the policy at the start of the iteration). */
  reference: ParameterSet;
  reward: RewardFunction;
  prompts: readonly string[];
  /** Content address of the prompt set (recorded in checkpoints). */
  promptSetId?: string | null;
  /** Parent artifact (the starting policy) for lineage. */
  parentArtifactId?: string | null;
  runId?: string;
  /** Checkpoint root: step-N directories (artifact + state.json). Resumes from the latest when present. */
  outDir?: string | null;
  options: PpoOptions;
  /** Starting weights of a separate critic (options.critic = 'separate'); default the starting policy. */
  criticInit?: ParameterSet;
  onStep?: (m: PpoStepMetrics, p: TrainProgress) => void;
  cancelRequested?: () => boolean;
}

/** What state.json holds besides the optimizer moments. */
interface PpoState {
  step: number;
  optimizerStep: number;
  trainerStep: number;
  critic: { optimizerStep: number; trainerStep: number } | null;
  beta: number;
  rewardStats: RunningMoments;
  health: RunHealthState;
  history: PpoStepMetrics[];
  findings: HealthFinding[];
  checkpoints: PpoCheckpoint[];
}

interface RunningMoments {
  count: number;
  mean: number;
  m2: number;
}

/** A reproducible sub-seed for (seed, step, stream): splitmix-style mixing into 32 bits. */
export function deriveSeed(seed: number, step: number, stream: number): number {
  const r = new Rng(seed);
  let x = r.nextUint32() ^ Math.imul(step + 1, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** The prompts of PPO step `step`: a seeded draw without replacement (with, when the set is smaller). */
export function promptsForStep(prompts: readonly string[], count: number, seed: number, step: number): string[] {
  const rng = new Rng(deriveSeed(seed, step, 1));
  const out: string[] = [];
  while (out.length < count) {
    const order = rng.shuffle(Array.from(prompts.keys()));
    for (const i of order) {
      if (out.length === count) break;
      out.push(prompts[i]!);
    }
  }
  return out;
}

function p90(xs: number[]): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.9 * sorted.length) - 1)]!;
}

/** 1 − Var(R − V)/Var(R) over every response token (how much of the return the value head explains). */
export function explainedVariance(returns: Float64Array[], values: Float32Array[]): number {
  const r: number[] = [];
  const d: number[] = [];
  returns.forEach((row, i) => row.forEach((x, t) => (r.push(x), d.push(x - values[i]![t]!))));
  const vr = std(r) ** 2;
  return vr > 0 ? 1 - std(d) ** 2 / vr : 0;
}

function makeKlController(k: KlControl): KlController & { restore?(beta: number): void } {
  return k.kind === 'fixed' ? new FixedKlController(k.beta) : new AdaptiveKlController(k.initial, k.target, k.horizon);
}

/**
 * The ppoLoss batch for rows `rows` of a rollout: tokens/targets as in scoring (prompt ++
 * response, right-padded), and every per-token quantity placed at the response's positions.
 */
export function ppoMinibatch(
  rollout: RolloutBatch,
  rows: readonly number[],
  adv: { advantages: Float64Array[]; returns: Float64Array[] },
  padId: number,
  coefs: { clipEps: number; valueClip: number; valueCoef: number; entropyCoef: number },
): Batch {
  const seqs = rows.map((i) => [...rollout.promptIds[i]!, ...rollout.responses[i]!.tokenIds]);
  const B = rows.length;
  const T = Math.max(...seqs.map((s) => s.length)) - 1;
  const tokens = new BigInt64Array(B * T).fill(BigInt(padId));
  const targets = new BigInt64Array(B * T).fill(BigInt(padId));
  const mask = new Float32Array(B * T);
  const oldLogprobs = new Float32Array(B * T);
  const advantages = new Float32Array(B * T);
  const returns = new Float32Array(B * T);
  const oldValues = new Float32Array(B * T);
  rows.forEach((i, b) => {
    const seq = seqs[b]!;
    for (let t = 0; t + 1 < seq.length; t++) {
      tokens[b * T + t] = BigInt(seq[t]!);
      targets[b * T + t] = BigInt(seq[t + 1]!);
    }
    const P = rollout.promptIds[i]!.length;
    const R = rollout.responses[i]!.tokenIds.length;
    for (let j = 0; j < R; j++) {
      const at = b * T + P - 1 + j;
      mask[at] = 1;
      oldLogprobs[at] = rollout.logprobs[i]![j]!;
      advantages[at] = adv.advantages[i]![j]!;
      returns[at] = adv.returns[i]![j]!;
      oldValues[at] = rollout.values[i]![j]!;
    }
  });
  const shape = [B, T];
  return {
    tokens: { data: tokens, shape },
    targets: { data: targets, shape },
    action_mask: { data: mask, shape },
    old_logprobs: { data: oldLogprobs, shape },
    advantages: { data: advantages, shape },
    returns: { data: returns, shape },
    old_values: { data: oldValues, shape },
    clip_eps: coefs.clipEps,
    value_clip: coefs.valueClip,
    value_coef: coefs.valueCoef,
    entropy_coef: coefs.entropyCoef,
  };
}

export async function runPpo(input: PpoRunInput): Promise<PpoResult> {
  const o = input.options;
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new RangeError(`steps: must be a positive integer, got ${o.steps}`);
  if (!Number.isInteger(o.promptsPerStep) || o.promptsPerStep < 1) throw new RangeError(`promptsPerStep: must be a positive integer, got ${o.promptsPerStep}`);
  if (!Number.isInteger(o.maxTokens) || o.maxTokens < 1) throw new RangeError(`maxTokens: must be a positive integer, got ${o.maxTokens}`);
  if (input.prompts.length === 0) throw new RangeError('prompts: the prompt set is empty');
  const epochs = o.epochs ?? 2;
  const miniBatches = Math.min(o.miniBatches ?? 2, o.promptsPerStep);
  const lr = o.lr ?? 1e-4;
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`epochs: must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(miniBatches) || miniBatches < 1) throw new RangeError(`miniBatches: must be a positive integer, got ${o.miniBatches}`);
  if (!(lr > 0) || !Number.isFinite(lr)) throw new RangeError(`lr: must be a finite number > 0, got ${lr}`);
  const every = o.checkpointEvery ?? 0;
  if (!Number.isInteger(every) || every < 0) throw new RangeError(`checkpointEvery: must be an integer ≥ 0, got ${every}`);
  if (o.klCeiling != null && !(o.klCeiling > 0)) throw new RangeError(`klCeiling: must be > 0, got ${o.klCeiling}`);
  const coefs = { clipEps: o.clipEps ?? 0.2, valueClip: o.valueClip ?? 0.2, valueCoef: o.valueCoef ?? 0.1, entropyCoef: o.entropyCoef ?? 0 };
  const { config, tokenizer } = input;
  const padId = tokenizer.specialId('<|pad|>');
  const runId = input.runId ?? `ppo-seed-${o.seed}`;
  const sessionOpts = o.intraOpThreads !== undefined ? { intraOpThreads: o.intraOpThreads } : {};

  const policy = input.policy.clone();
  const kl = makeKlController(o.kl ?? { kind: 'adaptive', initial: 0.05, target: 6, horizon: 10000 });
  const health = new RunHealth(o.health ?? DEFAULT_RUN_HEALTH);
  const optimizerStepsPerStep = epochs * miniBatches;
  const trainer = await Trainer.create(config, ppoLoss, policy, {
    schedule: { maxLr: lr, minLr: lr, warmupSteps: 0, totalSteps: o.steps * optimizerStepsPerStep },
    maxGradNorm: o.maxGradNorm ?? 1.0,
    ...sessionOpts,
  });
  const scorer = await GptScorer.create(config, sessionOpts);
  const separateCritic = o.critic === 'separate';
  // The critic's update is the same loss with zero advantages (so the surrogate has no
  // gradient) and value_coef 1: only the clipped value loss trains it.
  const critic = separateCritic ? (input.criticInit ?? input.policy).clone() : null;
  const criticTrainer = critic
    ? await Trainer.create(config, ppoLoss, critic, { schedule: { maxLr: lr, minLr: lr, warmupSteps: 0, totalSteps: o.steps * epochs * miniBatches }, maxGradNorm: o.maxGradNorm ?? 1.0, ...sessionOpts })
    : null;

  let rewardStats: RunningMoments = { count: 0, mean: 0, m2: 0 };
  let history: PpoStepMetrics[] = [];
  let findings: HealthFinding[] = [];
  let checkpoints: PpoCheckpoint[] = [];
  let startStep = 0;
  const latest = input.outDir ? await latestCheckpoint(input.outDir) : null;
  if (latest) {
    // Resume: weights from the checkpoint's artifact, everything else from its state.json.
    const art = await readArtifact(latest.dir);
    if (art.params.data.length !== policy.data.length) throw new RangeError(`resume: checkpoint ${latest.dir} has ${art.params.data.length} parameters, the policy ${policy.data.length}`);
    policy.data.set(art.params.data);
    const { state, blobs } = await readTrainingState<PpoState>(latest.dir);
    trainer.optimizer.loadState({ step: state.optimizerStep, m: blobs['adam.m']!, v: blobs['adam.v']! });
    trainer.step = state.trainerStep;
    if (criticTrainer && critic) {
      if (!state.critic) throw new RangeError(`resume: checkpoint ${latest.dir} has no critic state, but options.critic is 'separate'`);
      critic.data.set(blobs['critic.params']!);
      criticTrainer.optimizer.loadState({ step: state.critic.optimizerStep, m: blobs['critic.adam.m']!, v: blobs['critic.adam.v']! });
      criticTrainer.step = state.critic.trainerStep;
    }
    if (kl instanceof AdaptiveKlController) kl.restore(state.beta);
    health.restore(state.health);
    rewardStats = state.rewardStats;
    history = state.history;
    findings = state.findings;
    checkpoints = state.checkpoints;
    startStep = state.step;
  }

  const writeCheckpoint = async (step: number): Promise<void> => {
    if (!input.outDir) return;
    const dir = `${input.outDir}/${checkpointDirName(step)}`;
    const metrics = history[history.length - 1]!;
    const manifest: ArtifactManifest = await trainer.checkpoint((params) =>
      writeArtifact(dir, {
        config,
        params,
        tokenizer,
        meta: {
          kind: 'policy',
          parentArtifactId: input.parentArtifactId ?? null,
          trainingRunId: runId,
          datasetSnapshotId: input.promptSetId ?? null,
          notes: { trainer: 'ppo', step, seed: o.seed, metrics },
        },
      }),
    );
    checkpoints = [...checkpoints, { step, dir, artifactId: manifest.artifactId, metrics }];
    const opt = trainer.optimizer.state();
    const criticOpt = criticTrainer?.optimizer.state();
    const state: PpoState = {
      step,
      optimizerStep: opt.step,
      trainerStep: trainer.step,
      critic: criticTrainer && criticOpt ? { optimizerStep: criticOpt.step, trainerStep: criticTrainer.step } : null,
      beta: kl.value,
      rewardStats,
      health: health.state(),
      history,
      findings,
      checkpoints,
    };
    const blobs: Record<string, Float32Array> = { 'adam.m': opt.m, 'adam.v': opt.v };
    if (critic && criticOpt) Object.assign(blobs, { 'critic.params': critic.data, 'critic.adam.m': criticOpt.m, 'critic.adam.v': criticOpt.v });
    await writeTrainingState(dir, state, blobs);
  };

  let stop: PpoStopReason = { kind: 'completed' };
  const runStarted = performance.now();
  for (let step = startStep + 1; step <= o.steps; step++) {
    if (input.cancelRequested?.()) throw new TrainingCancelledError(step - 1);
    const stepStarted = performance.now();
    // at most 64 rows decode together (the KV cache is preallocated per slot); the rest queue
    const engine = await BatchEngine.fromParameters(policy, tokenizer, { maxBatch: Math.min(o.promptsPerStep, 64), ...sessionOpts });
    let rollout: RolloutBatch;
    try {
      rollout = await collectRollout({ engine, scorer, policy, reference: input.reference, reward: input.reward }, promptsForStep(input.prompts, o.promptsPerStep, o.seed, step), {
        maxTokens: o.maxTokens,
        seed: deriveSeed(o.seed, step, 2),
        truncationPenalty: o.truncationPenalty ?? 0,
        ...(o.objective ? { objective: o.objective } : {}),
        ...(o.scoreBatch ? { scoreBatch: o.scoreBatch } : {}),
      });
    } finally {
      await engine.close();
    }
    let criticScoringMs = 0;
    if (critic) {
      // the separate critic's values replace the policy head's: one more scoring pass
      const t0 = performance.now();
      const responseIds = rollout.responses.map((r) => r.tokenIds);
      rollout.values = (await scoreResponses(scorer, critic, rollout.promptIds, responseIds, padId, o.scoreBatch)).values;
      criticScoringMs = performance.now() - t0;
    }
    for (let i = 0; i < rollout.logprobs.length; i++) {
      assertFinite(`old_logprobs[${i}]`, rollout.logprobs[i]!, step);
      assertFinite(`ref_logprobs[${i}]`, rollout.refLogprobs[i]!, step);
      assertFinite(`values[${i}]`, rollout.values[i]!, step);
    }
    const klSummary = summarizeKl(rollout.logprobs.map((l, i) => ({ logprobs: l, refLogprobs: rollout.refLogprobs[i]! })));
    const lengths = rollout.responses.map((r) => r.tokenIds.length);
    const eos = rollout.responses.map((r) => r.endedWithEos);
    const entropy = mean(rollout.entropy.flatMap((e) => Array.from(e)));

    if (o.klCeiling != null && klSummary.k3 > o.klCeiling) {
      stop = { kind: 'kl_ceiling', detail: `KL k3 ${klSummary.k3.toFixed(3)} nats per response at step ${step} is above the ceiling ${o.klCeiling}` };
      break;
    }

    // Reward normalisation (running moments over all scores so far) and clipping.
    let scores = rollout.scores.slice();
    if (o.rewardNormalize) {
      for (const s of scores) {
        rewardStats.count++;
        const d = s - rewardStats.mean;
        rewardStats.mean += d / rewardStats.count;
        rewardStats.m2 += d * (s - rewardStats.mean);
      }
      const sd = rewardStats.count > 1 ? Math.sqrt(rewardStats.m2 / (rewardStats.count - 1)) : 1;
      scores = scores.map((s) => (s - rewardStats.mean) / (sd > 0 ? sd : 1));
    }
    if (o.rewardClip != null) scores = scores.map((s) => Math.max(-o.rewardClip!, Math.min(o.rewardClip!, s)));

    const beta = kl.value;
    const adv = batchAdvantages(
      rollout.logprobs.map((l, i) => ({ logprobs: l, refLogprobs: rollout.refLogprobs[i]!, values: rollout.values[i]!, score: scores[i]! })),
      { klCoef: beta },
      o.gae ?? DEFAULT_GAE,
    );
    adv.advantages.forEach((a, i) => assertFinite(`advantages[${i}]`, a, step));
    adv.returns.forEach((r, i) => assertFinite(`returns[${i}]`, r, step));

    // epochs × minibatches over a seeded permutation of the rows.
    const updateStarted = performance.now();
    const gradNorms: number[] = [];
    const acc = { clip_fraction: 0, approx_kl: 0, pg_loss: 0, value_loss: 0 };
    let updateTokens = 0;
    for (let e = 0; e < epochs; e++) {
      const order = new Rng(deriveSeed(o.seed, step, 100 + e)).shuffle(Array.from(rollout.responses.keys()));
      for (let m = 0; m < miniBatches; m++) {
        const rows = order.filter((_, k) => k % miniBatches === m);
        const batch = ppoMinibatch(rollout, rows, adv, padId, critic ? { ...coefs, valueCoef: 0 } : coefs);
        const p = await trainer.trainStep([batch]);
        gradNorms.push(p.gradNorm);
        updateTokens += (batch.tokens as { data: BigInt64Array }).data.length;
        for (const k of Object.keys(acc) as (keyof typeof acc)[]) acc[k] += (p.metrics[k] ?? 0) / optimizerStepsPerStep;
        if (criticTrainer) {
          const advShape = (batch.advantages as { shape: number[] }).shape;
          const c = await criticTrainer.trainStep([{ ...batch, advantages: { data: new Float32Array(advShape[0]! * advShape[1]!), shape: advShape }, value_coef: 1, entropy_coef: 0 }]);
          // the value loss reported is the critic's
          acc.value_loss += ((c.metrics.value_loss ?? 0) - (p.metrics.value_loss ?? 0)) / optimizerStepsPerStep;
        }
      }
    }
    const updateMs = performance.now() - updateStarted;
    kl.update(klSummary.k1, rollout.responses.length);

    const stepMs = performance.now() - stepStarted;
    const generated = lengths.reduce((a, b) => a + b, 0);
    const metrics: PpoStepMetrics = {
      step,
      reward_mean: mean(rollout.rmScores),
      reward_std: std(rollout.rmScores),
      score_mean: mean(rollout.scores),
      kl_k1: klSummary.k1,
      kl_k3: klSummary.k3,
      beta,
      entropy,
      ...acc,
      explained_variance: explainedVariance(adv.returns, rollout.values),
      response_length_mean: mean(lengths),
      response_length_p90: p90(lengths),
      eos_rate: eos.filter(Boolean).length / eos.length,
      grad_norm: mean(gradNorms),
      tokens_per_second: generated / (stepMs / 1000),
      generated_tokens: generated,
      update_tokens: updateTokens,
      rollout_ms: rollout.timings.rolloutMs,
      reward_ms: rollout.timings.rewardMs,
      policy_scoring_ms: rollout.timings.policyScoringMs + criticScoringMs,
      reference_ms: rollout.timings.referenceMs,
      update_ms: updateMs,
      step_ms: stepMs,
    };
    history = [...history, metrics];
    const verdict = health.check({ step, scores: rollout.rmScores, responseLengths: lengths, endedWithEos: eos, gradNorms, entropy });
    findings = [...findings, ...verdict.findings];
    const elapsed = (performance.now() - runStarted) / 1000;
    const done = step - startStep;
    input.onStep?.(metrics, {
      step,
      totalSteps: o.steps,
      loss: acc.pg_loss + coefs.valueCoef * acc.value_loss,
      metrics: { reward: metrics.reward_mean, kl: metrics.kl_k1, kl_k3: metrics.kl_k3, beta: kl.value, entropy, clip_fraction: acc.clip_fraction },
      lr,
      gradNorm: metrics.grad_norm,
      tokensPerSecond: metrics.tokens_per_second,
      stepMs,
      etaSeconds: ((o.steps - step) * elapsed) / done,
    });
    if (step === o.steps || (every > 0 && step % every === 0)) await writeCheckpoint(step);
    if (verdict.stop) {
      stop = { kind: 'unhealthy', detail: verdict.stop };
      break;
    }
  }
  const steps = history.length ? history[history.length - 1]!.step : startStep;
  return { stop, steps, resumedFromStep: startStep, history, findings, checkpoints, params: policy, finalBeta: kl.value };
}
