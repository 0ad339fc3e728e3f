// The `evaluation` job (docs/jobs.md): a durable row the evaluator's worker claims and
// runs through EvaluatorService. With `runId`, every checkpoint of that PPO run is
// evaluated and the one chosen by eval is judged against the incumbent (run evaluation);
// without, the named candidate is. The result names the evaluation, its report, the
// configured gate's verdict and decision, each policy's verdict, and `chosenCandidate`:
// the registered policy version the loop deploys on a pass. Rerunning an attempt is safe: the evaluation's ids derive from its
// inputs, so a second attempt writes the same rows (or finds them written).
import { Inject, Injectable, type OnModuleInit, Optional } from '@nestjs/common';
import type { RewardScorer } from '../../evaluation/sampling/index.js';
import { JobHandlers } from '../../platform/jobs/job-handlers.js';
import type { JobContext } from '../../platform/jobs/job-handlers.js';
import { DEFAULT_EVAL_SAMPLING, type EvaluateResult, EvaluatorService } from './evaluator.service.js';

/** Resolves a reward model version to a scorer; the reward-model runtime provides it. */
export interface RewardScorerProvider {
  forVersion(modelVersionId: string): Promise<RewardScorer>;
}
export const REWARD_SCORER_PROVIDER = Symbol('REWARD_SCORER_PROVIDER');

export class RewardScorerUnavailableError extends Error {
  readonly retriable = false;
  readonly code = 'reward_scorer_unavailable';
  constructor(readonly rewardModelVersion: string, field = 'rewardModelVersion') {
    super(`params.${field}: ${rewardModelVersion} was named, but this process has no reward-model scoring runtime (REWARD_SCORER_PROVIDER)`);
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
    const { candidate, baseline, suites, rewardModelVersion, runId, judgeModelVersion, seed } = ctx.job.params;
    const scorerFor = async (version: string, field: string): Promise<RewardScorer> => {
      if (!this.rewardScorers) throw new RewardScorerUnavailableError(version, field);
      return this.rewardScorers.forVersion(version);
    };
    if (judgeModelVersion) await this.evaluator.requireJudge(judgeModelVersion);
    const judge = judgeModelVersion ? await scorerFor(judgeModelVersion, 'judgeModelVersion') : undefined;
    const seeds = DEFAULT_EVAL_SAMPLING.seeds.map((_, i) => seed + i);
    ctx.signal.throwIfAborted();
    if (runId) {
      // every checkpoint of the run, then the one chosen by eval against the incumbent
      const result = await this.evaluator.evaluateRun({
        runId, candidate, incumbent: baseline, suites, seeds, judge, signal: ctx.signal,
        ...(rewardModelVersion ? { rewardModelVersion } : {}),
        rewardScorerFor: (version) => scorerFor(version, 'rewardModelVersion'),
        onCheckpoint: (done, total) => { void ctx.progress({ step: done, total: total + 1 }); },
      });
      await ctx.progress({ step: result.checkpoints.length + 1, total: result.checkpoints.length + 1, metrics: this.timingsOf(result) });
      return {
        ...this.resultOf(result),
        runId,
        chosenCandidate: result.chosenCandidate,
        chosenStep: result.choice.step,
        checkpointsEvaluated: result.checkpoints.length,
      };
    }
    const rewardScorer = rewardModelVersion ? await scorerFor(rewardModelVersion, 'rewardModelVersion') : undefined;
    await ctx.progress({ step: 0, total: 1 });
    const result = await this.evaluator.evaluate({ candidate, incumbent: baseline, suites, seeds, rewardScorer, judge });
    await ctx.progress({ step: 1, total: 1, metrics: this.timingsOf(result) });
    return { ...this.resultOf(result), chosenCandidate: candidate };
  }

  private timingsOf(result: EvaluateResult) {
    const t = result.evaluation.timings;
    return { samplingSeconds: t.samplingSeconds, scoringSeconds: t.scoringSeconds, statisticsSeconds: t.statisticsSeconds };
  }

  /**
   * What the orchestrator reads (loop-runner.ts, step `evaluate`): the configured gate's
   * verdict and decision id, each policy's verdict, and the figures its rules read.
   */
  private resultOf(result: EvaluateResult) {
    const [configured] = result.decisions;
    if (!configured) throw new Error(`evaluation ${result.evaluationId} recorded no gate decision`);
    return {
      evaluationId: result.evaluationId,
      reportPath: result.reportPath,
      verdict: configured.verdict,
      gateDecisionId: configured.id,
      verdicts: Object.fromEntries(result.decisions.map((d) => [d.policyName ?? d.id, d.verdict])),
      metrics: Object.fromEntries(configured.rules.map((r) => [r.metric, r.value ?? null])),
    };
  }
}
