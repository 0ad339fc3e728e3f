// The `rejection_sampling` job handler: the durable job contract in front of
// RejectionSamplingService. Progress per chunk of prompts sampled, then per SFT step; the
// job's signal cancels between them; a new attempt reuses the winners an earlier attempt
// kept under the job's checkpoint prefix. A refused RM fails the job at once with the reason.
import type { JobContext, JobHandler } from '../../platform/jobs/job-handlers.js';
import type { JsonObject } from '../../platform/persistence/entities/columns.js';
import { ensembleObjectiveOf } from './ppo.job.js';
import { optimisationRequestOf } from './optimisation-inputs.js';
import { progressReporter } from './reward-model.job.js';
import type { RejectionSamplingService } from './rejection-sampling.service.js';

export function rejectionSamplingJobHandler(service: RejectionSamplingService): JobHandler<'rejection_sampling'> {
  return async (ctx: JobContext<'rejection_sampling'>): Promise<JsonObject> => {
    const p = ctx.job.params;
    ctx.signal.throwIfAborted();
    const progress = progressReporter(ctx);
    const outcome = await service.train({
      ...optimisationRequestOf(p),
      n: p.n,
      epochs: p.epochs,
      objective: ensembleObjectiveOf(p.objective),
      checkpointPrefix: ctx.checkpoint.prefix,
      onProgress: progress.report,
      signal: ctx.signal,
    });
    await progress.settled();
    const s = outcome.result.selection;
    return {
      modelVersion: outcome.version.id,
      status: outcome.version.status,
      rewardModelVersion: outcome.rewardModel.id,
      trainingRunId: outcome.trainingRunId,
      artifactPath: outcome.artifactPath,
      reusedSelection: outcome.result.reusedSelection,
      steps: outcome.result.steps,
      finalLoss: outcome.result.finalLoss,
      n: s.n,
      bestMeanScore: s.bestMeanScore,
      sampleMeanScore: s.sampleMeanScore,
      klBound: s.klBound,
    };
  };
}
