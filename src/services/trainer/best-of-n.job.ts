// The `best_of_n` job handler: best-of-n as an offline evaluation (BestOfNService). Progress
// per chunk of prompts; the job's signal cancels between chunks; the figures (score of one
// sample and of the best of n, the KL bound, the cost in tokens) are the job's result.
// Nothing is checkpointed: a new attempt starts over. A refused RM fails the job at once.
import type { JobContext, JobHandler } from '../../platform/jobs/job-handlers.js';
import type { JsonObject } from '../../platform/persistence/entities/columns.js';
import type { BestOfNService } from './best-of-n.service.js';
import { ensembleObjectiveOf } from './ppo.job.js';
import { optimisationRequestOf } from './optimisation-inputs.js';
import { progressReporter } from './reward-model.job.js';

export function bestOfNJobHandler(service: BestOfNService): JobHandler<'best_of_n'> {
  return async (ctx: JobContext<'best_of_n'>): Promise<JsonObject> => {
    const p = ctx.job.params;
    ctx.signal.throwIfAborted();
    const progress = progressReporter(ctx);
    const outcome = await service.evaluate({
      ...optimisationRequestOf(p),
      n: p.n,
      objective: ensembleObjectiveOf(p.objective),
      onProgress: progress.report,
      signal: ctx.signal,
    });
    await progress.settled();
    return { policyVersion: outcome.policy.id, rewardModelVersion: outcome.rewardModel.id, ...outcome.summary };
  };
}
