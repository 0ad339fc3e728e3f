// PPO as a TrainThread program (engine/train/training-program.ts): the run happens on a
// worker thread, so an embedded process keeps serving while it trains. Progress is one
// record per PPO step (reward, KL, β, ETA in `metrics`/`etaSeconds`); cancel stops at the
// next step boundary (checkpoints already written remain: a resumed run continues from the
// latest). Params cross the thread by structured clone, so the reward is named by module
// URL: the module exports `createRewardFunction(options)` returning a RewardFunction (the
// reward model's batched scorer, a scenario reward, a test's toy reward).

import { readArtifact } from '../../engine/artifact/artifact.js';
import { TrainThread, type TrainThreadOptions } from '../../engine/train/train-thread.js';
import type { TrainingProgram } from '../../engine/train/training-program.js';
import { runPpo, type PpoCheckpoint, type PpoOptions, type PpoStepMetrics, type PpoStopReason } from './ppo-run.js';
import type { RewardFunction } from './reward-function.js';

export interface RewardModuleSpec {
  /** URL of an ES module exporting createRewardFunction(options). */
  moduleUrl: string;
  options?: unknown;
}

export interface PpoProgramParams {
  /** Starting policy artifact; also the frozen reference unless referenceDir is given. */
  policyDir: string;
  referenceDir?: string;
  reward: RewardModuleSpec;
  prompts: string[];
  promptSetId?: string | null;
  /** Checkpoint root (resumes from its latest checkpoint). */
  outDir: string;
  runId?: string;
  options: PpoOptions;
}

export interface PpoProgramResult {
  stop: PpoStopReason;
  steps: number;
  resumedFromStep: number;
  history: PpoStepMetrics[];
  checkpoints: PpoCheckpoint[];
  findings: { step: number; detector: string; detail: string; streak: number }[];
}

/** The RewardFunction a module URL names (its createRewardFunction(options)). */
export async function loadReward(spec: RewardModuleSpec): Promise<RewardFunction> {
  const mod = (await import(spec.moduleUrl)) as { createRewardFunction?: (options: unknown) => RewardFunction | Promise<RewardFunction> };
  if (typeof mod.createRewardFunction !== 'function') throw new TypeError(`reward.moduleUrl: ${spec.moduleUrl} exports no createRewardFunction`);
  return mod.createRewardFunction(spec.options);
}

export const trainingProgram: TrainingProgram<PpoProgramParams, PpoProgramResult> = {
  async run(params, context) {
    const start = await readArtifact(params.policyDir);
    const reference = params.referenceDir ? (await readArtifact(params.referenceDir)).params : start.params;
    const reward = await loadReward(params.reward);
    const r = await runPpo({
      config: start.config,
      tokenizer: start.tokenizer,
      policy: start.params,
      reference,
      reward,
      prompts: params.prompts,
      promptSetId: params.promptSetId ?? null,
      parentArtifactId: start.manifest.artifactId,
      ...(params.runId ? { runId: params.runId } : {}),
      outDir: params.outDir,
      options: params.options,
      onStep: (_m, p) => context.progress(p),
      cancelRequested: () => context.cancelRequested,
    });
    return { stop: r.stop, steps: r.steps, resumedFromStep: r.resumedFromStep, history: r.history, checkpoints: r.checkpoints, findings: r.findings };
  },
};

/** Run PPO on a worker thread. */
export function startPpo(params: PpoProgramParams, opts: TrainThreadOptions = {}): TrainThread<PpoProgramResult> {
  return TrainThread.start<PpoProgramParams, PpoProgramResult>(new URL(import.meta.url), params, opts);
}
