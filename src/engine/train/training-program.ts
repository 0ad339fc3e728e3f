// The contract between the engine's TrainThread (train-thread.ts) and a training algorithm.
//
// The engine knows no algorithm and cannot import src/rlhf, so a training run is named by
// the URL of a module that exports `trainingProgram: TrainingProgram<Params, Result>`
// (e.g. src/rlhf/sft/train-base.program.ts). The worker thread imports that module and
// calls `run(params, context)`. `Params` and `Result` cross the thread boundary by
// structured clone: plain data only (numbers, strings, arrays, typed arrays, plain
// objects) — no class instances, functions or AbortSignals.
//
// Cancellation is cooperative: the program reads `context.cancelRequested` between
// optimizer steps (never inside one) and either throws TrainingCancelledError — the
// default: nothing is written — or, when its params ask for it, writes a checkpoint of
// the state reached and returns normally.

import { EngineError } from '../errors.js';
import type { TrainProgress } from './trainer.js';

export interface TrainingContext {
  /** Sends one step's progress to the main thread (TrainThread's onProgress). */
  progress(p: TrainProgress): void;
  /** True once the main thread asked to cancel; read it between steps. */
  readonly cancelRequested: boolean;
}

export interface TrainingProgram<Params, Result> {
  run(params: Params, context: TrainingContext): Promise<Result>;
}

/** The run was cancelled between steps; `step` optimizer steps had completed. Nothing was written. */
export class TrainingCancelledError extends EngineError {
  readonly retriable = false;
  override readonly code = 'training_cancelled';
  constructor(readonly step: number) {
    super(`training cancelled after step ${step}; no checkpoint written`);
  }
}
