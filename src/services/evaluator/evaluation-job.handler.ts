// The `evaluation` job (docs/jobs.md): a durable row the evaluator's worker claims and
// runs through EvaluatorService. The result names the evaluation, its report and each
// policy's verdict. Rerunning an attempt is safe: the evaluation's ids derive from its
// inputs, so a second attempt writes the same rows (or finds them written).
import { Inject, Injectable, type OnModuleInit, Optional } from '@nestjs/common';
import type { RewardScorer } from '../../evaluation/sampling/index.js';
import { JobHandlers } from '../../platform/jobs/job-handlers.js';
import type { JobContext } from '../../platform/jobs/job-handlers.js';
import { DEFAULT_EVAL_SAMPLING, EvaluatorService } from './evaluator.service.js';

/** Resolves a reward model version to a scorer; the reward-model runtime provides it. */
export interface RewardScorerProvider {
  forVersion(modelVersionId: string): Promise<RewardScorer>;
}
export const REWARD_SCORER_PROVIDER = Symbol('REWARD_SCORER_PROVIDER');

export class RewardScorerUnavailableError extends Error {
  readonly retriable = false;
  readonly code = 'reward_scorer_unavailable';
  constructor(readonly rewardModelVersion: string) {
    super(`params.rewardModelVersion: ${rewardModelVersion} was named, but this process has no reward-model scoring runtime (REWARD_SCORER_PROVIDER)`);
    this.name = 'RewardScorerUnavailableError';
  }
}

@Injectable()
export class EvaluationJobHandler implements OnModuleInit {
  constructor(
    @Inject(JobHandlers) private readonly handlers: JobHandlers,
    @Inject(EvaluatorService) private readonly evaluator: EvaluatorService,
    @Optional() @Inject(REWARD_SCORER_PROVIDER) private readonly rewardScorers: RewardScorerProvider | null = null,
  ) {}

  onModuleInit(): void {
    this.handlers.register('evaluation', (ctx) => this.run(ctx));
  }

  async run(ctx: JobContext<'evaluation'>) {
    const { candidate, baseline, suites, rewardModelVersion, seed } = ctx.job.params;
    let rewardScorer: RewardScorer | undefined;
    if (rewardModelVersion) {
      if (!this.rewardScorers) throw new RewardScorerUnavailableError(rewardModelVersion);
      rewardScorer = await this.rewardScorers.forVersion(rewardModelVersion);
    }
    ctx.signal.throwIfAborted();
    await ctx.progress({ step: 0, total: 1 });
    const seeds = DEFAULT_EVAL_SAMPLING.seeds.map((_, i) => seed + i);
    const result = await this.evaluator.evaluate({ candidate, incumbent: baseline, suites, seeds, rewardScorer });
    const t = result.evaluation.timings;
    await ctx.progress({ step: 1, total: 1, metrics: { samplingSeconds: t.samplingSeconds, scoringSeconds: t.scoringSeconds, statisticsSeconds: t.statisticsSeconds } });
    return {
      evaluationId: result.evaluationId,
      reportPath: result.reportPath,
      verdicts: Object.fromEntries(result.decisions.map((d) => [d.policyName ?? d.id, d.verdict])),
    };
  }
}
