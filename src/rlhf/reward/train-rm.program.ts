// Reward-model training as a TrainThread program (engine/train/training-program.ts): the
// run — tokenizing the snapshot, training every member, writing the artifact, scoring the
// held-out and hard pairs with the written artifact, building the report — happens on a
// worker thread, so a process that also serves keeps its event loop free. Params and
// result are plain data; `startRewardTraining` is the main-thread side.

import { readArtifact } from '../../engine/artifact/artifact.js';
import { RewardScorer } from '../../engine/runtime/reward-scorer.js';
import { writeRewardArtifact, type RewardManifest } from '../../engine/artifact/reward-artifact.js';
import { TrainThread, type TrainThreadOptions } from '../../engine/train/train-thread.js';
import type { TrainingProgram } from '../../engine/train/training-program.js';
import { buildHardPairs, hardPairReport, type HardPairKind, type HardPairReport, type HardPairScores } from './hard-pairs.js';
import { rewardModelReport, type HeldOutPairScores, type RewardModelReport } from './report.js';
import { encodePreferencePairs, encodePrompt, encodeResponse, RewardDataError, type PreferenceRow, type TruncationReport } from './rm-data.js';
import { resolveRewardTrainingConfig, rewardRunFingerprint, trainRewardModel, type MemberResult, type RewardTrainingConfig } from './train-rm.js';

/** A held-out prompt's right answer and, optionally, a wrong one: the seed of RM-Bench-style hard pairs. */
export interface HardPairSeed {
  prompt: PreferenceRow['prompt'];
  right: string;
  wrong?: string;
}

export interface RewardTrainingParams {
  snapshotId: string;
  train: PreferenceRow[];
  heldout: PreferenceRow[];
  /** the policy artifact whose trunk and tokenizer the RM starts from */
  policyDir: string;
  /** where the reward artifact is written */
  outDir: string;
  /** checkpoints (resume after a kill); null = none */
  checkpointDir: string | null;
  config: Partial<RewardTrainingConfig> & { seed: number };
  /** fewer training pairs than this (after tokenization) → the run fails, nothing is written */
  minPairs: number;
  trainingRunId: string | null;
  /** a judge RM (train = judge-train, heldout = judge-check, both from the snapshot's held-out split); recorded in the manifest */
  judge?: boolean;
  /** fixed for byte-identical manifests; default now */
  createdAt?: string;
  /** hard-pair seeds; default: per held-out prompt, its first pair's chosen as right and rejected as wrong */
  hardPairSeeds?: HardPairSeed[];
  /** the previous production RM, scored on the same pairs (agreement, hard-pair delta) */
  previousRewardDir?: string | null;
  /** reference scenario only: gold's label of each held-out row (1 chosen better, −1 rejected, 0 tie) */
  heldoutGold?: (1 | 0 | -1)[];
  intraOpThreads?: number;
}

export interface HeldOutScored {
  /** index into params.heldout */
  row: number;
  /** one score per member */
  chosen: number[];
  rejected: number[];
  previousChosen?: number;
  previousRejected?: number;
}

export interface RewardTrainingSummary {
  manifest: RewardManifest;
  config: RewardTrainingConfig;
  truncation: { train: TruncationReport; heldout: TruncationReport };
  members: MemberResult[];
  report: RewardModelReport | null;
  hardPairs: HardPairReport | null;
  heldout: HeldOutScored[];
  hardPairScores: (HardPairScores & { prompt: string })[];
  throughput: { trainSeconds: number; trainedPairs: number; trainedTokens: number; pairsPerSecond: number; tokensPerSecond: number };
}

export const trainingProgram: TrainingProgram<RewardTrainingParams, RewardTrainingSummary> = {
  run: (params, context) => runRewardTraining(params, { onProgress: (p) => context.progress(p), cancelRequested: () => context.cancelRequested }),
};

export async function runRewardTraining(params: RewardTrainingParams, hooks: { onProgress?: Parameters<typeof trainRewardModel>[0]['onProgress']; cancelRequested?: () => boolean } = {}): Promise<RewardTrainingSummary> {
  const config = resolveRewardTrainingConfig(params.config);
  const policy = await readArtifact(params.policyDir);
  const { tokenizer } = policy;
  const maxSeqLen = policy.config.maxSeqLen;
  const train = encodePreferencePairs(params.train, tokenizer, maxSeqLen);
  const heldout = encodePreferencePairs(params.heldout, tokenizer, maxSeqLen);
  if (train.pairs.length < params.minPairs) {
    throw new RewardDataError('snapshot', `snapshot ${params.snapshotId} has ${train.pairs.length} usable training pairs, fewer than the minimum of ${params.minPairs}`);
  }
  const session = params.intraOpThreads !== undefined ? { intraOpThreads: params.intraOpThreads } : {};
  const trained = await trainRewardModel({
    policy: policy.params,
    padId: tokenizer.specialId('<|pad|>'),
    train: train.pairs,
    heldout: heldout.pairs,
    config,
    fingerprint: rewardRunFingerprint({ snapshotId: params.snapshotId, policyArtifactId: policy.manifest.artifactId, config, maxSeqLen, ...(params.judge ? { split: 'heldout' as const } : {}) }),
    checkpointDir: params.checkpointDir,
    session,
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
    ...(hooks.cancelRequested ? { cancelRequested: hooks.cancelRequested } : {}),
  });
  const throughput = {
    trainSeconds: trained.trainSeconds,
    trainedPairs: trained.trainedPairs,
    trainedTokens: trained.trainedTokens,
    pairsPerSecond: trained.trainedPairs / trained.trainSeconds,
    tokensPerSecond: trained.trainedTokens / trained.trainSeconds,
  };
  const manifest = await writeRewardArtifact(params.outDir, {
    members: trained.members,
    tokenizer,
    meta: {
      parentArtifactId: policy.manifest.artifactId,
      datasetSnapshotId: params.snapshotId,
      trainingRunId: params.trainingRunId,
      training: { ...config, minPairs: params.minPairs, ...(params.judge ? { split: 'heldout', judge: true } : {}) },
      metrics: {
        members: trained.memberResults.map(({ resumedFromStep: _r, ...m }) => m),
        totalSteps: trained.totalSteps,
        trainPairs: train.pairs.length,
        heldoutPairs: heldout.pairs.length,
        truncation: { train: train.truncation, heldout: heldout.truncation },
      },
      ...(params.createdAt ? { createdAt: params.createdAt } : {}),
    },
  });

  // Evaluate what was written: the artifact's own scoring graph, as PPO will use it.
  const scorer = await RewardScorer.load(params.outDir, session);
  const previous = params.previousRewardDir ? await RewardScorer.load(params.previousRewardDir, session) : null;
  const scoreBoth = async (inputs: { prompt: number[]; response: number[] }[]) => ({ now: (await scorer.score(inputs)).scores, before: previous ? (await previous.score(inputs)).scores : null });
  const meanOf = (s: Float32Array[], i: number): number => s.reduce((a, m) => a + m[i]!, 0) / s.length;

  const heldoutScored: HeldOutScored[] = [];
  let report: RewardModelReport | null = null;
  if (heldout.pairs.length > 0) {
    const inputs = heldout.pairs.flatMap((p) => {
      const prompt = encodePrompt(tokenizer, params.heldout[p.row]!.prompt);
      return [{ prompt, response: encodeResponse(tokenizer, params.heldout[p.row]!.chosen) }, { prompt, response: encodeResponse(tokenizer, params.heldout[p.row]!.rejected) }];
    });
    const { now, before } = await scoreBoth(inputs);
    const rows: HeldOutPairScores[] = heldout.pairs.map((p, i) => {
      const scored: HeldOutScored = { row: p.row, chosen: now.map((m) => m[2 * i]!), rejected: now.map((m) => m[2 * i + 1]!) };
      if (before) {
        scored.previousChosen = meanOf(before, 2 * i);
        scored.previousRejected = meanOf(before, 2 * i + 1);
      }
      heldoutScored.push(scored);
      const gold = params.heldoutGold?.[p.row];
      return {
        source: p.source,
        chosenLength: p.chosenResponseTokens,
        rejectedLength: p.rejectedResponseTokens,
        scoreChosen: scored.chosen,
        scoreRejected: scored.rejected,
        ...(before ? { previousScoreChosen: scored.previousChosen!, previousScoreRejected: scored.previousRejected! } : {}),
        ...(gold !== undefined ? { goldPreference: gold } : {}),
      };
    });
    report = rewardModelReport(rows, { seed: config.seed });
  }

  const seeds = params.hardPairSeeds ?? defaultHardPairSeeds(params.heldout);
  const hard = buildHardPairs(seeds.map((s) => ({ prompt: lastUserText(s.prompt), right: s.right, ...(s.wrong !== undefined ? { wrong: s.wrong } : {}) })), { seed: config.seed });
  const hardInputs: { prompt: number[]; response: number[] }[] = [];
  const usable: number[] = [];
  hard.forEach((h, i) => {
    const prompt = encodePrompt(tokenizer, seeds[h.source]!.prompt);
    const c = encodeResponse(tokenizer, h.chosen);
    const r = encodeResponse(tokenizer, h.rejected);
    if (Math.max(c.length, r.length) >= maxSeqLen) return;
    usable.push(i);
    hardInputs.push({ prompt, response: c }, { prompt, response: r });
  });
  let hardPairs: HardPairReport | null = null;
  const hardPairScores: (HardPairScores & { prompt: string })[] = [];
  if (usable.length > 0) {
    const { now, before } = await scoreBoth(hardInputs);
    usable.forEach((h, j) => {
      const s: HardPairScores & { prompt: string } = { kind: hard[h]!.kind as HardPairKind, prompt: hard[h]!.prompt, scoreChosen: meanOf(now, 2 * j), scoreRejected: meanOf(now, 2 * j + 1) };
      if (before) {
        s.previousScoreChosen = meanOf(before, 2 * j);
        s.previousScoreRejected = meanOf(before, 2 * j + 1);
      }
      hardPairScores.push(s);
    });
    hardPairs = hardPairReport(hardPairScores, { seed: config.seed });
  }
  await scorer.release();
  await previous?.release();
  return { manifest, config, truncation: { train: train.truncation, heldout: heldout.truncation }, members: trained.memberResults, report, hardPairs, heldout: heldoutScored, hardPairScores, throughput };
}

function lastUserText(prompt: PreferenceRow['prompt']): string {
  for (let i = prompt.length - 1; i >= 0; i--) if (prompt[i]!.role === 'user') return prompt[i]!.content;
  return prompt[prompt.length - 1]?.content ?? '';
}

/** Without known right answers: each held-out prompt's first pair, its chosen response as "right" and its rejected one as "wrong". */
export function defaultHardPairSeeds(heldout: readonly PreferenceRow[]): HardPairSeed[] {
  const seen = new Set<string>();
  const seeds: HardPairSeed[] = [];
  for (const r of heldout) {
    // live data has empty answers (a policy that said nothing, which the user then voted
    // down): an empty chosen answer cannot seed "the right answer", and an empty rejected
    // one is no dressed-up wrong answer — the pair then seeds the style perturbations only
    if (seen.has(r.promptHash) || r.chosen.trim() === '') continue;
    seen.add(r.promptHash);
    seeds.push({ prompt: r.prompt, right: r.chosen, ...(r.rejected.trim() === '' ? {} : { wrong: r.rejected }) });
  }
  return seeds;
}

/** Train a reward model on a worker thread (what the trainer role and `outerloop train rm` run). */
export function startRewardTraining(params: RewardTrainingParams, opts: TrainThreadOptions = {}): TrainThread<RewardTrainingSummary> {
  return TrainThread.start<RewardTrainingParams, RewardTrainingSummary>(new URL(import.meta.url), params, opts);
}
