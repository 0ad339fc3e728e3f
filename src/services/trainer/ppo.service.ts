// The trainer role's PPO use case: a reward-model version in, a registered candidate policy
// out. Nest-free: the `ppo` job handler and `outerloop train ppo` call `train()` alike.
//
//   1. the reward model must be in the registry, of kind reward, not `rejected` and not a
//      judge (rewardModelToOptimise, src/services/reward-model-version.ts; the error names it; not retriable); the policy is the one named or the
//      production policy; the prompts are the stored prompt set named (prompt-sets/<id>.json
//      in the artifact store) or the service's default prompts
//   2. PPO runs on a TrainThread (startPpo) with the RM artifact as its reward
//      (rlhf/ppo/rm-reward.ts), checkpoints under the checkpoint prefix: the run id is
//      derived from the request, so a new attempt resumes from the latest checkpoint
//   3. every checkpoint gets a row (TRAINING_REPOSITORY), and the last one is registered as
//      a policy version (status candidate; lineage: parent policy, training run, and the RM
//      version in its metrics). Checkpoints stay in the store: the evaluator picks among them.
import { createHash } from 'node:crypto';
import { isAbsolute, relative } from 'node:path';
import type { ModelVersionRecord } from '../../domain/models.js';
import type { TrainProgress } from '../../engine/train/trainer.js';
import type { ArtifactStore } from '../../platform/artifacts/artifact-store.js';
import { Logger } from '../../platform/logging/logger.js';
import type { Repositories } from '../../platform/persistence/repositories/index.js';
import type { EnsembleObjective } from '../../rlhf/reward/ensemble.js';
import { startPpo, type PpoProgramResult } from '../../rlhf/ppo/ppo.program.js';
import type { PpoOptions } from '../../rlhf/ppo/ppo-run.js';
import { RM_REWARD_MODULE_URL } from '../../rlhf/ppo/rm-reward.js';
import { resolveOptimisationInputs } from './optimisation-inputs.js';
import { finishingOnError } from './training-run.js';

export type PpoRepositories = Pick<Repositories, 'modelRegistry' | 'training'>;
export { RewardModelRefusedError } from '../reward-model-version.js';
export { PromptSetNotFoundError, promptSetPath } from './optimisation-inputs.js';

export interface PpoServiceOptions {
  /** prompts when a request names no prompt set */
  defaultPrompts: readonly string[];
  /** PPO options the request does not set (maxTokens, epochs, lr, …) */
  defaults?: Partial<PpoOptions>;
  intraOpThreads?: number;
}

/**
 * Measured on the loop's tiny configuration (tests/e2e/loop, honest users, 16 steps × 32
 * prompts, an RM from ~125 pairs): 1e-5 with raw RM scores moved the policy by KL 0.023
 * and hidden-set gold by +0.02; 5e-5 with normalised scores, KL 0.28 and gold +0.07 at its
 * best checkpoint. 5e-5 is also what `npm run bench -- ppo` measures the scenario at.
 */
export const DEFAULT_PPO_LEARNING_RATE = 5e-5;

export interface PpoRequest {
  rewardModelVersion: string;
  policyVersionId?: string;
  promptSetId?: string;
  steps: number;
  seed: number;
  objective: EnsembleObjective;
  /** fixed β; with targetKl, the adaptive controller's initial β */
  klCoef?: number;
  targetKl?: number;
  promptsPerStep?: number;
  checkpointEvery?: number;
  /** Adam's learning rate; default 5e-5 */
  learningRate?: number;
  /** where the run's checkpoints go in the artifact store (a job's `checkpoint.prefix`); default `checkpoints/ppo` */
  checkpointPrefix?: string;
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
}

export interface PpoOutcome {
  version: ModelVersionRecord;
  rewardModel: ModelVersionRecord;
  trainingRunId: string;
  /** the run directory (relative to the artifact store): step-NNNNNN/ per checkpoint */
  runPath: string;
  result: PpoProgramResult;
}

export class PpoService {
  private readonly log = new Logger('trainer.ppo');

  constructor(
    private readonly repositories: PpoRepositories,
    private readonly artifacts: ArtifactStore,
    private readonly options: PpoServiceOptions,
  ) {}

  async train(request: PpoRequest): Promise<PpoOutcome> {
    const { rewardModel, policy, prompts } = await resolveOptimisationInputs(this.repositories.modelRegistry, this.artifacts, this.options.defaultPrompts, request);
    const options: PpoOptions = {
      maxTokens: 48,
      lr: DEFAULT_PPO_LEARNING_RATE,
      // a learned RM's scale is arbitrary (Bradley–Terry fixes differences only up to how
      // sure the data made it: an RM from a few hundred pairs scores within ±0.05), so its
      // scores are normalised by their running moments (OpenRLHF's normalize_reward) and
      // the KL penalty weighs the same against any RM
      rewardNormalize: true,
      ...this.options.defaults,
      ...(request.learningRate !== undefined ? { lr: request.learningRate } : {}),
      steps: request.steps,
      seed: request.seed,
      promptsPerStep: request.promptsPerStep ?? this.options.defaults?.promptsPerStep ?? 64,
      objective: request.objective,
      ...(request.targetKl !== undefined
        ? { kl: { kind: 'adaptive' as const, initial: request.klCoef ?? 0.05, target: request.targetKl, horizon: 10_000 } }
        : request.klCoef !== undefined ? { kl: { kind: 'fixed' as const, beta: request.klCoef } } : {}),
      ...(request.checkpointEvery !== undefined ? { checkpointEvery: request.checkpointEvery } : {}),
      ...(this.options.intraOpThreads !== undefined ? { intraOpThreads: this.options.intraOpThreads } : {}),
    };
    const trainingRunId = 'ppo-' + createHash('sha256').update(JSON.stringify([policy.id, policy.sha256, rewardModel.id, rewardModel.sha256, request.promptSetId ?? null, prompts.length, options])).digest('hex').slice(0, 24);
    const runPath = `${(request.checkpointPrefix ?? 'checkpoints/ppo').replace(/\/+$/, '')}/${trainingRunId}`;
    await this.repositories.training.startRun({ id: trainingRunId, kind: 'ppo', config: JSON.parse(JSON.stringify({ ...options, rewardModelVersion: rewardModel.id, promptSetId: request.promptSetId ?? null })), baseModelId: policy.id, datasetSnapshotId: null, seed: request.seed });
    this.log.info('running PPO', { trainingRunId, policy: policy.id, rewardModel: rewardModel.id, steps: request.steps, prompts: prompts.length });

    const result = await finishingOnError(this.repositories.training, trainingRunId, () => {
      const run = startPpo(
        {
          policyDir: this.dirOf(policy.artifactPath),
          reward: { moduleUrl: RM_REWARD_MODULE_URL, options: { dir: this.dirOf(rewardModel.artifactPath), ...(this.options.intraOpThreads !== undefined ? { intraOpThreads: this.options.intraOpThreads } : {}) } },
          prompts,
          promptSetId: request.promptSetId ?? null,
          outDir: this.artifacts.resolve(runPath),
          runId: trainingRunId,
          options,
        },
        { ...(request.onProgress ? { onProgress: request.onProgress } : {}), ...(request.signal ? { signal: request.signal } : {}) },
      );
      return run.done;
    });
    const last = result.checkpoints[result.checkpoints.length - 1];
    if (!last) {
      await this.repositories.training.finishRun(trainingRunId, 'failed', `PPO stopped (${result.stop.kind}) before its first checkpoint`);
      throw new Error(`PPO run ${trainingRunId} stopped (${result.stop.kind}) before its first checkpoint: nothing to register`);
    }
    const storePath = (dir: string): string => `${runPath}/${relative(this.artifacts.resolve(runPath), dir).split('\\').join('/')}`;
    for (const c of result.checkpoints) {
      const metrics = Object.fromEntries(Object.entries(c.metrics).filter(([, v]) => typeof v === 'number' && Number.isFinite(v))) as Record<string, number>;
      await this.repositories.training.recordCheckpoint({ id: `${trainingRunId}:step-${c.step}`, runId: trainingRunId, step: c.step, metrics, artifactPath: storePath(c.dir) });
    }
    const version = await this.repositories.modelRegistry.register(
      {
        id: `policy-${last.artifactId.slice(0, 16)}`,
        kind: 'policy',
        parentId: policy.id,
        artifactPath: storePath(last.dir),
        sha256: last.artifactId,
        trainingRunId,
        metrics: JSON.parse(JSON.stringify({ rewardModelVersion: rewardModel.id, step: last.step, stop: result.stop, reward: last.metrics.reward_mean, kl: last.metrics.kl_k1, promptSetId: request.promptSetId ?? null })),
      },
      { ifAbsent: true },
    );
    await this.repositories.training.finishRun(trainingRunId, 'succeeded');
    this.log.info('PPO policy registered', { version: version.id, step: last.step, stop: result.stop.kind, reward: last.metrics.reward_mean });
    return { version, rewardModel, trainingRunId, runPath, result };
  }

  private dirOf(artifactPath: string): string {
    return isAbsolute(artifactPath) ? artifactPath : this.artifacts.resolve(artifactPath);
  }
}
