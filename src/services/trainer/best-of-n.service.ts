// The trainer role's best-of-n offline evaluation (Stiennon et al. 2020; Gao et al. 2022):
// what sampling n responses and keeping the RM's best buys over one sample, on the same RM
// and prompts as PPO, at a known distance from the policy (KL ≤ log n − (n − 1)/n) and
// n× the generation cost. No weights change, so nothing is registered: the figures are
// the job's result. Nest-free: the `best_of_n` job handler calls `evaluate()`.
//
// The reward model is refused as for PPO (src/services/reward-model-version.ts): best-of-n optimises
// against it at decoding time. A new attempt starts over (it writes no checkpoint).
import { isAbsolute } from 'node:path';
import type { ModelVersionRecord } from '../../domain/models.js';
import type { TrainProgress } from '../../engine/train/trainer.js';
import type { ArtifactStore } from '../../platform/artifacts/artifact-store.js';
import { Logger } from '../../platform/logging/logger.js';
import type { Repositories } from '../../platform/persistence/repositories/index.js';
import { startBestOfN, type BestOfNSummary } from '../../rlhf/best-of-n/best-of-n.program.js';
import { RM_REWARD_MODULE_URL } from '../../rlhf/ppo/rm-reward.js';
import type { EnsembleObjective } from '../../rlhf/reward/ensemble.js';
import { resolveOptimisationInputs } from './optimisation-inputs.js';
import type { BestOfNServiceOptions } from './rejection-sampling.service.js';

export interface BestOfNRequest {
  rewardModelVersion: string;
  policyVersionId?: string;
  promptSetId?: string;
  n: number;
  seed: number;
  objective: EnsembleObjective;
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
}

export interface BestOfNOutcome {
  policy: ModelVersionRecord;
  rewardModel: ModelVersionRecord;
  summary: BestOfNSummary;
}

export class BestOfNService {
  private readonly log = new Logger('trainer.best-of-n');

  constructor(
    private readonly repositories: Pick<Repositories, 'modelRegistry'>,
    private readonly artifacts: ArtifactStore,
    private readonly options: BestOfNServiceOptions,
  ) {}

  async evaluate(request: BestOfNRequest): Promise<BestOfNOutcome> {
    const { rewardModel, policy, prompts } = await resolveOptimisationInputs(this.repositories.modelRegistry, this.artifacts, this.options.defaultPrompts, request);
    this.log.info('evaluating best-of-n', { policy: policy.id, rewardModel: rewardModel.id, n: request.n, prompts: prompts.length });
    const dir = (p: string): string => (isAbsolute(p) ? p : this.artifacts.resolve(p));
    const threads = this.options.intraOpThreads !== undefined ? { intraOpThreads: this.options.intraOpThreads } : {};
    const run = startBestOfN(
      {
        policyDir: dir(policy.artifactPath),
        reward: { moduleUrl: RM_REWARD_MODULE_URL, options: { dir: dir(rewardModel.artifactPath), ...threads } },
        prompts, n: request.n, seed: request.seed, objective: request.objective,
        maxTokens: this.options.maxTokens ?? 48, truncationPenalty: this.options.truncationPenalty ?? 0,
        ...threads,
      },
      { ...(request.onProgress ? { onProgress: request.onProgress } : {}), ...(request.signal ? { signal: request.signal } : {}) },
    );
    const summary = await run.done;
    this.log.info('best-of-n evaluated', { n: request.n, gain: summary.gain, klBound: summary.klBound });
    return { policy, rewardModel, summary };
  }
}
