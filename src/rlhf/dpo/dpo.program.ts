// DPO as a TrainThread program: train on preference pairs from the starting policy (also
// the frozen reference) and write the result as a servable policy artifact. Progress per
// optimizer step (loss, accuracy, reward_margin); cancel stops between steps and writes
// nothing.

import { readArtifact, writeArtifact, type ArtifactManifest } from '../../engine/artifact/artifact.js';
import { TrainThread, type TrainThreadOptions } from '../../engine/train/train-thread.js';
import type { TrainingProgram } from '../../engine/train/training-program.js';
import { trainDpo, type DpoOptions, type PreferencePairText } from './dpo-train.js';

export interface DpoProgramParams {
  policyDir: string;
  pairs: PreferencePairText[];
  /** Content address of the pairs (the dataset snapshot id). */
  snapshotId?: string | null;
  outDir: string;
  options: Omit<DpoOptions, 'onProgress' | 'cancelRequested'>;
}

export interface DpoProgramResult {
  manifest: ArtifactManifest;
  finalLoss: number;
  finalAccuracy: number;
}

export const trainingProgram: TrainingProgram<DpoProgramParams, DpoProgramResult> = {
  async run(params, context) {
    const start = await readArtifact(params.policyDir);
    const r = await trainDpo(
      { config: start.config, tokenizer: start.tokenizer, policy: start.params, pairs: params.pairs },
      { ...params.options, onProgress: (p) => context.progress(p), cancelRequested: () => context.cancelRequested },
    );
    const manifest = await writeArtifact(params.outDir, {
      config: start.config,
      params: r.params,
      tokenizer: start.tokenizer,
      meta: {
        kind: 'policy',
        parentArtifactId: start.manifest.artifactId,
        trainingRunId: `dpo-seed-${params.options.seed}-steps-${params.options.steps}`,
        datasetSnapshotId: params.snapshotId ?? null,
        notes: { trainer: 'dpo', beta: params.options.beta, steps: params.options.steps, seed: params.options.seed, finalLoss: r.losses.at(-1), finalAccuracy: r.accuracies.at(-1) },
      },
    });
    return { manifest, finalLoss: r.losses.at(-1)!, finalAccuracy: r.accuracies.at(-1)! };
  },
};

export function startDpo(params: DpoProgramParams, opts: TrainThreadOptions = {}): TrainThread<DpoProgramResult> {
  return TrainThread.start<DpoProgramParams, DpoProgramResult>(new URL(import.meta.url), params, opts);
}
