// Rejection-sampling fine-tuning as a TrainThread program, in two phases:
//   1. selection: best-of-n on the prompt set with the reward (named by module URL, as
//      PPO's), progress per chunk of prompts; the winners are kept in `selectionDir` before
//      training starts
//   2. SFT on the winners (fineTuneOnWinners), progress per optimizer step; the result is
//      written as a servable policy artifact at `outDir`.
// Resume: a new attempt whose `selectionDir` holds them reuses the winners (sampling is the
// expensive phase and is deterministic in the seed, so this is what an uninterrupted run
// would have drawn) and trains again from the starting policy; the SFT phase is short
// and writes no intermediate checkpoint. Cancel: between chunks or steps.

import { join } from 'node:path';
import { readArtifact, writeArtifact, type ArtifactManifest } from '../../engine/artifact/artifact.js';
import { checkpointDirName, latestCheckpoint, readTrainingState, writeTrainingState } from '../../engine/artifact/training-state.js';
import { TrainThread, type TrainThreadOptions } from '../../engine/train/train-thread.js';
import { TrainingCancelledError, type TrainingProgram } from '../../engine/train/training-program.js';
import type { EnsembleObjective } from '../reward/ensemble.js';
import { loadReward, type RewardModuleSpec } from '../ppo/ppo.program.js';
import { bestOfNWithProgress, summarizeBestOfN, type BestOfNSummary } from './best-of-n.program.js';
import { fineTuneOnWinners } from './rejection-sampling.js';

export interface RejectionSamplingProgramParams {
  policyDir: string;
  reward: RewardModuleSpec;
  prompts: string[];
  promptSetId?: string | null;
  runId: string;
  n: number;
  maxTokens: number;
  seed: number;
  objective?: EnsembleObjective;
  truncationPenalty?: number;
  /** passes over the winners: steps = ⌈epochs × prompts / batchSize⌉ */
  epochs: number;
  batchSize?: number;
  lr?: number;
  /** where the winners are kept between attempts (a step-0 training state, engine/artifact/training-state.ts) */
  selectionDir: string;
  outDir: string;
  promptsPerChunk?: number;
  intraOpThreads?: number;
}

export interface RejectionSamplingProgramResult {
  manifest: ArtifactManifest;
  selection: BestOfNSummary;
  /** true when the winners came from an earlier attempt's selectionDir */
  reusedSelection: boolean;
  steps: number;
  finalLoss: number;
}

const SELECTION_FORMAT = 'outerloop.rejection-sampling.selection.v1';

interface StoredSelection {
  format: typeof SELECTION_FORMAT;
  runId: string;
  winners: number[][];
  summary: BestOfNSummary;
}

/** The winners an earlier attempt kept under `root` (as a step-0 training state), or null. */
async function readSelection(root: string, runId: string, prompts: number): Promise<StoredSelection | null> {
  const kept = await latestCheckpoint(root);
  if (!kept) return null;
  const { state: s } = await readTrainingState<Partial<StoredSelection>>(kept.dir);
  if (s.format !== SELECTION_FORMAT || s.runId !== runId || !Array.isArray(s.winners) || s.winners.length !== prompts || !s.summary) {
    throw new Error(`${kept.dir}: not this run's selection (${SELECTION_FORMAT}, run ${runId}, ${prompts} winners)`);
  }
  return s as StoredSelection;
}

export const trainingProgram: TrainingProgram<RejectionSamplingProgramParams, RejectionSamplingProgramResult> = {
  async run(params, context) {
    if (!Number.isInteger(params.epochs) || params.epochs < 1) throw new RangeError(`epochs: must be a positive integer, got ${params.epochs}`);
    const start = await readArtifact(params.policyDir);
    const sessionOpts = params.intraOpThreads !== undefined ? { intraOpThreads: params.intraOpThreads } : {};
    const chunks = Math.ceil(params.prompts.length / (params.promptsPerChunk ?? 8));
    const batchSize = Math.min(params.batchSize ?? 16, params.prompts.length);
    const steps = Math.ceil((params.epochs * params.prompts.length) / batchSize);
    const total = chunks + steps;

    let stored = await readSelection(params.selectionDir, params.runId, params.prompts.length);
    const reusedSelection = stored !== null;
    if (!stored) {
      // a cancel while sampling: no SFT step has run
      const r = await bestOfNWithProgress(start, await loadReward(params.reward), params, context, { totalSteps: total, cancelledAt: () => 0 });
      stored = { format: SELECTION_FORMAT, runId: params.runId, winners: r.best.map((b) => [...b.tokenIds]), summary: summarizeBestOfN(r, params.n, params.prompts.length) };
      // state.json is written last: a selection cut short by a kill is not read back
      await writeTrainingState(join(params.selectionDir, checkpointDirName(0)), stored, {});
    }
    const selection = stored;

    const { params: tuned, losses } = await fineTuneOnWinners(
      { config: start.config, tokenizer: start.tokenizer, policy: start.params, prompts: params.prompts, winners: selection.winners.map((tokenIds) => ({ tokenIds })) },
      { steps, batchSize, seed: params.seed, ...(params.lr !== undefined ? { lr: params.lr } : {}), ...sessionOpts },
      { onProgress: (p) => context.progress({ ...p, step: chunks + p.step, totalSteps: total }), cancelRequested: () => context.cancelRequested },
    );
    const manifest = await writeArtifact(params.outDir, {
      config: start.config,
      params: tuned,
      tokenizer: start.tokenizer,
      meta: {
        kind: 'policy',
        parentArtifactId: start.manifest.artifactId,
        trainingRunId: params.runId,
        datasetSnapshotId: params.promptSetId ?? null,
        notes: { trainer: 'rejection_sampling', n: params.n, steps, seed: params.seed, bestMeanScore: selection.summary.bestMeanScore, sampleMeanScore: selection.summary.sampleMeanScore, finalLoss: losses.at(-1) },
      },
    });
    return { manifest, selection: selection.summary, reusedSelection, steps, finalLoss: losses.at(-1)! };
  },
};

export function startRejectionSampling(params: RejectionSamplingProgramParams, opts: TrainThreadOptions = {}): TrainThread<RejectionSamplingProgramResult> {
  return TrainThread.start<RejectionSamplingProgramParams, RejectionSamplingProgramResult>(new URL(import.meta.url), params, opts);
}
