// The `ppo` job handler: the durable job contract in front of PpoService. Params map onto
// the PPO request (the objective's UWO λ is the service's default, 0.5); every PPO step is
// reported on the job row with reward, KL and β; the job's signal cancels at the next step
// boundary; checkpoints live under the job's checkpoint prefix, so a new attempt resumes.
// An unknown or rejected reward model fails the job at once (RewardModelRefusedError).
import type { JobContext, JobHandler } from '../../platform/jobs/job-handlers.js';
import type { JsonObject } from '../../platform/persistence/entities/columns.js';
import type { EnsembleObjective } from '../../rlhf/reward/ensemble.js';
import { optimisationRequestOf } from './optimisation-inputs.js';
import { progressReporter } from './reward-model.job.js';
import type { PpoService } from './ppo.service.js';

/** λ of the UWO objective when a job asks for `uwo` (the job schema carries only the kind). */
export const DEFAULT_UWO_LAMBDA = 0.5;

export function ensembleObjectiveOf(kind: 'mean' | 'uwo' | 'wco'): EnsembleObjective {
  return kind === 'uwo' ? { kind, lambda: DEFAULT_UWO_LAMBDA } : { kind };
}

export function ppoJobHandler(service: PpoService): JobHandler<'ppo'> {
  return async (ctx: JobContext<'ppo'>): Promise<JsonObject> => {
    const p = ctx.job.params;
    ctx.signal.throwIfAborted();
    const progress = progressReporter(ctx);
    const outcome = await service.train({
      ...optimisationRequestOf(p),
      steps: p.steps,
      objective: ensembleObjectiveOf(p.objective),
      ...(p.klCoef !== undefined ? { klCoef: p.klCoef } : {}),
      ...(p.targetKl !== undefined ? { targetKl: p.targetKl } : {}),
      ...(p.batchSize !== undefined ? { promptsPerStep: p.batchSize } : {}),
      ...(p.checkpointEvery !== undefined ? { checkpointEvery: p.checkpointEvery } : {}),
      ...(p.learningRate !== undefined ? { learningRate: p.learningRate } : {}),
      checkpointPrefix: ctx.checkpoint.prefix,
      onProgress: progress.report,
      signal: ctx.signal,
    });
    await progress.settled();
    const last = outcome.result.history[outcome.result.history.length - 1];
    return {
      modelVersion: outcome.version.id,
      status: outcome.version.status,
      rewardModelVersion: outcome.rewardModel.id,
      trainingRunId: outcome.trainingRunId,
      runPath: outcome.runPath,
      stop: outcome.result.stop.kind,
      steps: outcome.result.steps,
      resumedFromStep: outcome.result.resumedFromStep,
      checkpoints: outcome.result.checkpoints.map((c) => c.step),
      reward: last?.reward_mean ?? null,
      kl: last?.kl_k1 ?? null,
    };
  };
}
