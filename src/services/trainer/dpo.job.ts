// The `dpo` job handler: the durable job contract in front of DpoService. Params map onto
// the DPO request; every optimizer step (loss, accuracy, reward margin) is reported on the
// job row; the job's signal cancels between steps. DPO writes no intermediate checkpoint,
// so a new attempt starts the run over. An unknown snapshot fails the job at once.
import type { JobContext, JobHandler } from '../../platform/jobs/job-handlers.js';
import type { JsonObject } from '../../platform/persistence/entities/columns.js';
import type { DpoService } from './dpo.service.js';
import { progressReporter } from './reward-model.job.js';

export function dpoJobHandler(service: DpoService): JobHandler<'dpo'> {
  return async (ctx: JobContext<'dpo'>): Promise<JsonObject> => {
    const p = ctx.job.params;
    ctx.signal.throwIfAborted();
    const progress = progressReporter(ctx);
    const outcome = await service.train({
      snapshotId: p.snapshotId,
      ...(p.basePolicy !== undefined ? { policyVersionId: p.basePolicy } : {}),
      beta: p.beta,
      epochs: p.epochs,
      seed: p.seed,
      ...(p.learningRate !== undefined ? { learningRate: p.learningRate } : {}),
      ...(p.batchSize !== undefined ? { batchSize: p.batchSize } : {}),
      checkpointPrefix: ctx.checkpoint.prefix,
      onProgress: progress.report,
      signal: ctx.signal,
    });
    await progress.settled();
    return {
      modelVersion: outcome.version.id,
      status: outcome.version.status,
      trainingRunId: outcome.trainingRunId,
      pairs: outcome.pairs,
      skippedMultiTurn: outcome.skippedMultiTurn,
      steps: outcome.steps,
      finalLoss: outcome.result.finalLoss,
      finalAccuracy: outcome.result.finalAccuracy,
    };
  };
}
