// SFT of the base policy as a TrainThread program (engine/train/training-program.ts): the
// run happens on a worker thread, so a process that also serves (embedded mode) keeps its
// event loop free. `trainingProgram` runs on the worker; `startTrainBase` is the main
// side and names this very module as the program.

import type { ArtifactManifest } from '../../engine/artifact/artifact.js';
import { TrainThread, type TrainThreadOptions } from '../../engine/train/train-thread.js';
import type { TrainingProgram } from '../../engine/train/training-program.js';
import { runTrainBase, type RunTrainBaseOptions } from './train-base.js';

/** Everything runTrainBase takes except callbacks: plain data, cloned to the worker. */
export type TrainBaseParams = Omit<RunTrainBaseOptions, 'onProgress' | 'cancelRequested'>;

/** What crosses back: the written artifact's manifest and the run's figures (no weights). */
export interface TrainBaseSummary {
  manifest: ArtifactManifest;
  steps: number;
  cancelled: boolean;
  firstLoss: number;
  finalLoss: number;
  examplesUsed: number;
  examplesDropped: number;
  /** Seconds per step measured to turn a time budget into steps; null when steps were given. */
  stepSeconds: number | null;
}

export const trainingProgram: TrainingProgram<TrainBaseParams, TrainBaseSummary> = {
  async run(params, context) {
    const { manifest, result, stepSeconds } = await runTrainBase({
      ...params,
      onProgress: (p) => context.progress(p),
      cancelRequested: () => context.cancelRequested,
    });
    return {
      manifest,
      steps: result.steps,
      cancelled: result.cancelled,
      firstLoss: result.losses[0] ?? Number.NaN,
      finalLoss: result.finalLoss,
      examplesUsed: result.examplesUsed,
      examplesDropped: result.examplesDropped,
      stepSeconds,
    };
  },
};

/** Train the base policy on a worker thread (what `outerloop train-base` runs). */
export function startTrainBase(params: TrainBaseParams, opts: TrainThreadOptions = {}): TrainThread<TrainBaseSummary> {
  return TrainThread.start<TrainBaseParams, TrainBaseSummary>(new URL(import.meta.url), params, opts);
}
