// The trainer role's rejection-sampling use case (Llama 2 §3.2.3; RAFT): a reward-model
// version in, a registered candidate policy out — PPO's baseline on the same RM and
// prompts. Nest-free: the `rejection_sampling` job handler and `outerloop train rs` call
// `train()` alike.
//
//   1. the reward model is one a policy may be optimised against (src/services/reward-model-version.ts:
//      unknown, rejected and judge RMs are refused with the reason); the policy is the one
//      named or production; the prompts are the named frozen prompt set or the defaults
//   2. best-of-n then SFT on the winners runs on a TrainThread (rejection-sampling.program.ts);
//      the run id is derived from the request, and the winners are kept under the run's
//      directory, so a new attempt of the same request skips the sampling phase
//   3. the artifact gets one checkpoint row and is registered as a policy version (status
//      candidate; lineage: parent policy, training run, RM version and n in its metrics)
import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import type { ModelVersionRecord } from '../../domain/models.js';
import type { TrainProgress } from '../../engine/train/trainer.js';
import type { ArtifactStore } from '../../platform/artifacts/artifact-store.js';
import { Logger } from '../../platform/logging/logger.js';
import type { Repositories } from '../../platform/persistence/repositories/index.js';
import { startRejectionSampling, type RejectionSamplingProgramResult } from '../../rlhf/best-of-n/rejection-sampling.program.js';
import { RM_REWARD_MODULE_URL } from '../../rlhf/ppo/rm-reward.js';
import type { EnsembleObjective } from '../../rlhf/reward/ensemble.js';
import { resolveOptimisationInputs } from './optimisation-inputs.js';
import { finishingOnError } from './training-run.js';

export type RejectionSamplingRepositories = Pick<Repositories, 'modelRegistry' | 'training'>;

export interface BestOfNServiceOptions {
  /** prompts when a request names no prompt set */
  defaultPrompts: readonly string[];
  /** max generated tokens per sample; default 48 (PPO's) */
  maxTokens?: number;
  /** subtracted from the score of a response cut at max tokens; default 0 */
  truncationPenalty?: number;
  intraOpThreads?: number;
}

export interface RejectionSamplingServiceOptions extends BestOfNServiceOptions {
  /** SFT learning rate; default 1e-5 (PPO's) */
  lr?: number;
  /** winners per SFT step; default 16 */
  batchSize?: number;
}

export interface RejectionSamplingRequest {
  rewardModelVersion: string;
  policyVersionId?: string;
  promptSetId?: string;
  n: number;
  epochs: number;
  seed: number;
  objective: EnsembleObjective;
  /** a job's `checkpoint.prefix`; default `checkpoints/rejection-sampling` */
  checkpointPrefix?: string;
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
}

export interface RejectionSamplingOutcome {
  version: ModelVersionRecord;
  rewardModel: ModelVersionRecord;
  trainingRunId: string;
  artifactPath: string;
  result: RejectionSamplingProgramResult;
}

export class RejectionSamplingService {
  private readonly log = new Logger('trainer.rejection-sampling');

  constructor(
    private readonly repositories: RejectionSamplingRepositories,
    private readonly artifacts: ArtifactStore,
    private readonly options: RejectionSamplingServiceOptions,
  ) {}

  async train(request: RejectionSamplingRequest): Promise<RejectionSamplingOutcome> {
    const { rewardModel, policy, prompts } = await resolveOptimisationInputs(this.repositories.modelRegistry, this.artifacts, this.options.defaultPrompts, request);
    const settings = {
      n: request.n, epochs: request.epochs, seed: request.seed, objective: request.objective,
      maxTokens: this.options.maxTokens ?? 48, truncationPenalty: this.options.truncationPenalty ?? 0,
      lr: this.options.lr ?? 1e-5, batchSize: this.options.batchSize ?? 16,
    };
    const trainingRunId = 'rs-' + createHash('sha256').update(JSON.stringify([policy.id, policy.sha256, rewardModel.id, rewardModel.sha256, request.promptSetId ?? null, prompts.length, settings])).digest('hex').slice(0, 24);
    const runPath = `${(request.checkpointPrefix ?? 'checkpoints/rejection-sampling').replace(/\/+$/, '')}/${trainingRunId}`;
    const artifactPath = `${runPath}/policy`;
    // the training-run kinds have one entry for the best-of-n family; `trainer` says which
    await this.repositories.training.startRun({ id: trainingRunId, kind: 'best-of-n', config: JSON.parse(JSON.stringify({ trainer: 'rejection_sampling', ...settings, rewardModelVersion: rewardModel.id, promptSetId: request.promptSetId ?? null })), baseModelId: policy.id, datasetSnapshotId: null, seed: request.seed });
    this.log.info('running rejection sampling', { trainingRunId, policy: policy.id, rewardModel: rewardModel.id, n: request.n, prompts: prompts.length });

    const result = await finishingOnError(this.repositories.training, trainingRunId, () => {
      const run = startRejectionSampling(
        {
          policyDir: this.dirOf(policy.artifactPath),
          reward: { moduleUrl: RM_REWARD_MODULE_URL, options: { dir: this.dirOf(rewardModel.artifactPath), ...(this.options.intraOpThreads !== undefined ? { intraOpThreads: this.options.intraOpThreads } : {}) } },
          prompts,
          promptSetId: request.promptSetId ?? null,
          runId: trainingRunId,
          ...settings,
          selectionDir: this.artifacts.resolve(`${runPath}/selection`),
          outDir: this.artifacts.resolve(artifactPath),
          ...(this.options.intraOpThreads !== undefined ? { intraOpThreads: this.options.intraOpThreads } : {}),
        },
        { ...(request.onProgress ? { onProgress: request.onProgress } : {}), ...(request.signal ? { signal: request.signal } : {}) },
      );
      return run.done;
    });
    const s = result.selection;
    await this.repositories.training.recordCheckpoint({
      id: `${trainingRunId}:final`, runId: trainingRunId, step: result.steps, artifactPath,
      metrics: { loss: result.finalLoss, best_score_mean: s.bestMeanScore, sample_score_mean: s.sampleMeanScore, kl_bound: s.klBound, response_length_mean: s.bestLengthMean },
    });
    const version = await this.repositories.modelRegistry.register(
      {
        id: `policy-${result.manifest.artifactId.slice(0, 16)}`, kind: 'policy', parentId: policy.id, artifactPath, sha256: result.manifest.artifactId, trainingRunId,
        metrics: JSON.parse(JSON.stringify({ trainer: 'rejection_sampling', rewardModelVersion: rewardModel.id, n: request.n, promptSetId: request.promptSetId ?? null, steps: result.steps, finalLoss: result.finalLoss, bestMeanScore: s.bestMeanScore, sampleMeanScore: s.sampleMeanScore, klBound: s.klBound })),
      },
      { ifAbsent: true },
    );
    await this.repositories.training.finishRun(trainingRunId, 'succeeded');
    this.log.info('rejection-sampling policy registered', { version: version.id, n: request.n, bestMeanScore: s.bestMeanScore, reusedSelection: result.reusedSelection });
    return { version, rewardModel, trainingRunId, artifactPath, result };
  }

  private dirOf(artifactPath: string): string {
    return isAbsolute(artifactPath) ? artifactPath : this.artifacts.resolve(artifactPath);
  }
}
