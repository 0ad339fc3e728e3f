// The `reward_model` job handler: the durable job contract (src/platform/jobs) in front of
// RewardModelService. The job's params map onto the training configuration; every
// optimizer step is reported on the job row and streamed on outerloop.job-events; the
// job's signal (cancel, lost lease, shutdown) cancels training at the next step boundary;
// checkpoints live under the job's checkpoint prefix, so a new attempt resumes where the
// last one stopped. Unknown snapshots and too few pairs are not retriable: the job fails
// at once, and nothing is registered.
import type { TrainProgress } from '../../engine/train/trainer.js';
import type { JobContext, JobHandler } from '../../platform/jobs/job-handlers.js';
import type { JsonObject } from '../../platform/persistence/entities/columns.js';
import type { RewardModelService } from './reward-model.service.js';

export function rewardModelJobHandler(service: RewardModelService): JobHandler<'reward_model'> {
  return async (ctx: JobContext<'reward_model'>): Promise<JsonObject> => {
    const p = ctx.job.params;
    ctx.signal.throwIfAborted();
    const progress = progressReporter(ctx);
    const outcome = await service.train({
      snapshotId: p.snapshotId,
      config: {
        seed: p.seed,
        ensemble: p.ensemble,
        epochs: p.epochs,
        marginScale: p.margin ? 1 : 0,
        centering: p.centering,
        ...(p.learningRate !== undefined ? { lr: p.learningRate } : {}),
        ...(p.batchSize !== undefined ? { maxPairs: p.batchSize } : {}),
      },
      ...(p.basePolicy !== undefined ? { policyVersionId: p.basePolicy } : {}),
      split: p.split,
      checkpointPrefix: ctx.checkpoint.prefix,
      onProgress: progress.report,
      signal: ctx.signal,
    });
    await progress.settled();
    const report = outcome.summary.report;
    return {
      modelVersion: outcome.version.id,
      status: outcome.version.status,
      artifactPath: outcome.artifactPath,
      artifactId: outcome.summary.manifest.artifactId,
      members: outcome.summary.manifest.members,
      trainingRunId: outcome.trainingRunId,
      heldOutAccuracy: report ? report.accuracy.value : null,
      hardPairAccuracy: outcome.summary.hardPairs?.accuracy.value ?? null,
      /** the RM quality gate's verdict (pass | fail | needs_review; null for a judge): what the loop's rm_gate reads */
      gate: outcome.gate?.verdict ?? null,
      gateRules: outcome.gate ? outcome.gate.rules.map((r) => ({ rule: r.rule, value: typeof r.value === 'number' ? r.value : null, threshold: typeof r.threshold === 'number' ? r.threshold : null, result: r.result })) : null,
      judge: outcome.version.metrics.judge === true,
      /** per member, the step its training resumed from (0: from the start; > 0: an earlier attempt's checkpoint) */
      resumedFromStep: outcome.summary.members.map((m) => m.resumedFromStep),
      // the report's figures by name (null: no held-out data for it)
      metrics: Object.fromEntries(Object.entries({
        heldoutAccuracy: report?.accuracy.value,
        heldoutAccuracyLower: report?.accuracy.lower,
        ece: report?.ece.value,
        lengthCorrelation: report?.length.scoreLengthSpearman.value,
        agreementWithPrevious: report?.agreementWithPrevious?.value,
        hardPairAccuracy: outcome.summary.hardPairs?.accuracy.value,
        hardPairDeltaVsPrevious: outcome.summary.hardPairs?.deltaVsPrevious?.value,
      }).map(([k, v]) => [k, v !== undefined && Number.isFinite(v) ? v : null])),
    };
  };
}

/**
 * Training progress onto the job row, in step order: writes are chained; a rejected write
 * means the job must stop, which the signal (and so the training thread) already knows.
 */
export function progressReporter(ctx: JobContext): { report: (x: TrainProgress) => void; settled: () => Promise<void> } {
  let reporting: Promise<void> = Promise.resolve();
  return {
    report: (x) => {
      reporting = reporting
        .then(() => ctx.progress({ step: x.step, total: x.totalSteps, loss: Number.isFinite(x.loss) ? x.loss : null, metrics: finite(x.metrics), tokensPerSecond: finiteOrNull(x.tokensPerSecond), etaSeconds: finiteOrNull(x.etaSeconds) }))
        .catch((e: unknown) => ctx.log.debug('progress not recorded: the job is stopping', { reason: (e as Error).message }));
    },
    settled: () => reporting,
  };
}

function finite(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)));
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) && v >= 0 ? v : null;
}
