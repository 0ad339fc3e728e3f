// The reference scenario for PPO, shared by its small-config test
// (reference-scenario.test.ts) and the full-scale bench (`npm run bench -- ppo`):
//   1. a reward model trained on simulated-user feedback from the scenario — `honest`
//      (gold's labels) or `mismatch` (users who prefer padded, flattering, confident
//      answers) — from the base policy, as the trainer role trains one
//   2. PPO from the base policy against that RM on the training prompts (eval prompts
//      excluded), a checkpoint every k steps
//   3. every checkpoint (and the base policy, step 0) sampled on the HELD-OUT eval sets with
//      the same prompts and seeds, and scored by the RM, by gold utility, for length and for
//      refusals of the benign-but-risky-sounding prompts: the reward and gold curves.
// Gold is never the reward here: it only labels the curves.
import { join } from 'node:path';
import { readArtifact, type LoadedArtifact } from '../../../../src/engine/artifact/artifact.js';
import type { ParameterSet } from '../../../../src/engine/gpt/config.js';
import { BatchEngine } from '../../../../src/engine/runtime/batch-engine.js';
import type { BpeTokenizer } from '../../../../src/engine/tokenizer/bpe-tokenizer.js';
import { pairedBootstrap, type PairedDifference } from '../../../../src/evaluation/statistics/bootstrap.js';
import { runPpo, type PpoOptions, type PpoResult, type PpoStepMetrics } from '../../../../src/rlhf/ppo/ppo-run.js';
import type { RewardFunction } from '../../../../src/rlhf/ppo/reward-function.js';
import { RewardModelScoring } from '../../../../src/rlhf/ppo/rm-reward.js';
import { encodeUserPrompt, sampleResponses } from '../../../../src/rlhf/ppo/rollout.js';
import { startRewardTraining } from '../../../../src/rlhf/reward/train-rm.program.js';
import { buildEvalSets, goldUtility, isRefusal, type EvalSetName } from '../../../../src/scenario/index.js';
import { BASE_POLICY_DIR, scenarioPreferenceRows } from '../reward/support.js';

export type FeedbackKind = 'honest' | 'mismatch';

export interface ScenarioRewardModel {
  kind: FeedbackKind;
  dir: string;
  trainPairs: number;
  /** held-out accuracy against the users' own labels, and the RM's score–length Spearman ρ */
  heldOutAccuracy: number | null;
  scoreLengthSpearman: number | null;
  seconds: number;
}

/** Trains an RM (one member, one epoch, from the base policy) on `pairs` comparisons of `kind` feedback. */
export async function trainScenarioRewardModel(kind: FeedbackKind, o: { pairs: number; seed: number; outDir: string; threads: number; onProgress?: (step: number, total: number) => void }): Promise<ScenarioRewardModel> {
  // ~5% of comparisons are ties (dropped) and ~10% of prompts held out: draw enough
  const rows = scenarioPreferenceRows({ seed: o.seed, count: Math.ceil(o.pairs * 1.2), bias: kind === 'honest' ? '' : 'mismatch' });
  const train = rows.train.slice(0, o.pairs);
  const dir = join(o.outDir, `rm-${kind}`);
  const t0 = performance.now();
  const summary = await startRewardTraining(
    { snapshotId: `reference-${kind}`, train, heldout: rows.heldout, policyDir: BASE_POLICY_DIR, outDir: dir, checkpointDir: null, config: { seed: o.seed, epochs: 1 }, minPairs: 1, trainingRunId: null, heldoutGold: rows.heldoutGold, intraOpThreads: o.threads },
    o.onProgress ? { onProgress: (p) => o.onProgress!(p.step, p.totalSteps) } : {},
  ).done;
  return {
    kind, dir, trainPairs: train.length,
    heldOutAccuracy: summary.report?.accuracy.value ?? null,
    scoreLengthSpearman: summary.report?.length.scoreLengthSpearman.value ?? null,
    seconds: (performance.now() - t0) / 1000,
  };
}

export interface EvalPromptText {
  text: string;
  set: EvalSetName;
}

/** The held-out eval sets' prompts (first `perSet` of each set), none of which PPO trains on. */
export function heldOutEvalPrompts(perSet = Number.POSITIVE_INFINITY): EvalPromptText[] {
  const sets = buildEvalSets();
  return (['extrinsic', 'refusal', 'diversity'] as const).flatMap((set) => sets[set].slice(0, perSet).map((p) => ({ text: p.messages[0]!.content, set })));
}

/** Per unit (prompt × sample, the same units at every checkpoint): what the curves average. */
export interface EvalSamples {
  gold: number[];
  rm: number[];
  /** generated tokens */
  length: number[];
  /** 1 when the response refuses; only units of the `refusal` set (benign prompts that sound risky) */
  refused: number[];
}

export async function evaluateOnEvalSets(
  params: ParameterSet,
  tokenizer: BpeTokenizer,
  rm: RewardFunction,
  prompts: readonly EvalPromptText[],
  o: { maxTokens: number; seed: number; samplesPerPrompt: number; threads: number },
): Promise<EvalSamples> {
  const units = prompts.flatMap((p) => Array.from({ length: o.samplesPerPrompt }, () => p));
  const engine = await BatchEngine.fromParameters(params, tokenizer, { maxBatch: 64, intraOpThreads: o.threads });
  let responses;
  try {
    // T = 1 with fixed seeds: unit i draws with seed + i at every checkpoint (paired units)
    responses = await sampleResponses(engine, units.map((u) => encodeUserPrompt(tokenizer, u.text)), o.maxTokens, o.seed);
  } finally {
    await engine.close();
  }
  const scores = (await rm(units.map((u) => u.text), responses)).scores;
  return {
    gold: responses.map((r, i) => goldUtility(units[i]!.text, r.text)),
    rm: scores,
    length: responses.map((r) => r.tokenIds.length),
    refused: responses.flatMap((r, i) => (units[i]!.set === 'refusal' ? [isRefusal(r.text) ? 1 : 0] : [])),
  };
}

export interface CurvePoint {
  step: number;
  /** PPO's own batch reward at that step (training prompts); null for the base policy */
  trainReward: number | null;
  klK1: number | null;
  /** on the held-out eval sets: the RM's mean score, gold's, the mean length and the benign refusal rate */
  reward: number;
  gold: number;
  length: number;
  benignRefusal: number;
  /** gold of this checkpoint − gold of the base policy, paired over the same units (95 % CI); null at step 0 */
  goldVsBase: { value: number; lower: number; upper: number } | null;
}

export interface ScenarioRun {
  rm: ScenarioRewardModel;
  curve: CurvePoint[];
  /** last checkpoint − base policy, paired over the same eval units (95 % percentile CIs) */
  delta: { gold: PairedDifference; reward: PairedDifference; length: PairedDifference; benignRefusal: PairedDifference };
  ppo: PpoResult;
  evalSeconds: number;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

const BOOTSTRAP = { seed: 7, resamples: 2000 };

function point(step: number, m: PpoStepMetrics | null, s: EvalSamples, base: EvalSamples | null): CurvePoint {
  const d = base ? pairedBootstrap(s.gold, base.gold, BOOTSTRAP) : null;
  return {
    step, trainReward: m?.reward_mean ?? null, klK1: m?.kl_k1 ?? null, reward: mean(s.rm), gold: mean(s.gold), length: mean(s.length), benignRefusal: mean(s.refused),
    goldVsBase: d ? { value: d.value, lower: d.lower, upper: d.upper } : null,
  };
}

/** PPO against `rm` from the base policy, then the curves over its checkpoints. */
export async function runReferenceScenario(
  base: LoadedArtifact,
  rm: ScenarioRewardModel,
  o: {
    trainingPrompts: readonly string[];
    evalPrompts: readonly EvalPromptText[];
    ppo: PpoOptions;
    outDir: string;
    eval: { samplesPerPrompt: number; seed: number };
    onStep?: (m: PpoStepMetrics) => void;
  },
): Promise<ScenarioRun> {
  const threads = o.ppo.intraOpThreads ?? 2;
  const scoring = await RewardModelScoring.load({ dir: rm.dir, policyTokenizerHash: base.tokenizer.hash(), intraOpThreads: threads });
  try {
    const ppo = await runPpo({
      config: base.config, tokenizer: base.tokenizer, policy: base.params, reference: base.params, reward: scoring.reward,
      prompts: o.trainingPrompts, parentArtifactId: base.manifest.artifactId, runId: `reference-${rm.kind}`, outDir: join(o.outDir, `ppo-${rm.kind}`), options: o.ppo,
      ...(o.onStep ? { onStep: (m: PpoStepMetrics) => o.onStep!(m) } : {}),
    });
    const t0 = performance.now();
    const evalOpts = { maxTokens: o.ppo.maxTokens, seed: o.eval.seed, samplesPerPrompt: o.eval.samplesPerPrompt, threads };
    const baseSamples = await evaluateOnEvalSets(base.params, base.tokenizer, scoring.reward, o.evalPrompts, evalOpts);
    const curve = [point(0, null, baseSamples, null)];
    let last = baseSamples;
    for (const c of ppo.checkpoints) {
      last = await evaluateOnEvalSets((await readArtifact(c.dir)).params, base.tokenizer, scoring.reward, o.evalPrompts, evalOpts);
      curve.push(point(c.step, c.metrics, last, baseSamples));
    }
    const delta = {
      gold: pairedBootstrap(last.gold, baseSamples.gold, BOOTSTRAP),
      reward: pairedBootstrap(last.rm, baseSamples.rm, BOOTSTRAP),
      length: pairedBootstrap(last.length, baseSamples.length, BOOTSTRAP),
      benignRefusal: pairedBootstrap(last.refused, baseSamples.refused, BOOTSTRAP),
    };
    return { rm, curve, delta, ppo, evalSeconds: (performance.now() - t0) / 1000 };
  } finally {
    await scoring.close();
  }
}

export { BASE_POLICY_DIR };
