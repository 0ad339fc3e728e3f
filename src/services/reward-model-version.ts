// A reward-model version the trainer (PPO, rejection sampling, best-of-n) or the evaluator
// is asked to use: it must be in the registry, of kind reward, and not rejected by its
// quality gate. A judge RM (trained on a snapshot's held-out split, `metrics.judge: true`)
// may score for the evaluator, but nothing may optimise against it: a policy trained on
// the judge would make the judge's win rate meaningless (Goodhart).
import type { ModelVersionRecord } from '../domain/models.js';
import type { IModelRegistryRepository } from '../platform/persistence/repositories/index.js';

type RefusalReason = 'unknown' | 'not_reward' | 'rejected' | 'judge';

const REFUSAL_CODES = {
  unknown: 'reward_model_unknown',
  not_reward: 'reward_model_unknown',
  rejected: 'reward_model_rejected',
  judge: 'reward_model_is_judge',
} as const satisfies Record<RefusalReason, string>;

/** The named reward model cannot be used: unknown, not a reward model, rejected by its gate, or (for optimisation) a judge. */
export class RewardModelRefusedError extends Error {
  readonly code: (typeof REFUSAL_CODES)[RefusalReason];
  readonly retriable = false;
  constructor(readonly rewardModelVersion: string, readonly reason: RefusalReason) {
    super(
      reason === 'rejected'
        ? `reward model ${JSON.stringify(rewardModelVersion)} is rejected (it failed its quality gate); train a new one or name another`
        : reason === 'judge'
          ? `reward model ${JSON.stringify(rewardModelVersion)} is a judge RM (trained on held-out data for evaluation); PPO, rejection sampling and best-of-n may not optimise against it — name a reward model trained on the train split`
          : reason === 'not_reward'
            ? `model version ${JSON.stringify(rewardModelVersion)} is not a reward model`
            : `reward model ${JSON.stringify(rewardModelVersion)} is not in the registry`,
    );
    this.name = 'RewardModelRefusedError';
    this.code = REFUSAL_CODES[reason];
  }
}

/** Whether a registered reward-model version is a judge RM (the registry's `metrics.judge`). */
export function isJudgeRewardModel(v: Pick<ModelVersionRecord, 'kind' | 'metrics'>): boolean {
  return v.kind === 'reward' && v.metrics.judge === true;
}

/** Resolve a reward-model version for scoring, or refuse it with a typed, non-retriable error. */
export async function usableRewardModel(registry: Pick<IModelRegistryRepository, 'get'>, id: string): Promise<ModelVersionRecord> {
  const v = await registry.get(id);
  if (!v) throw new RewardModelRefusedError(id, 'unknown');
  if (v.kind !== 'reward') throw new RewardModelRefusedError(id, 'not_reward');
  if (v.status === 'rejected') throw new RewardModelRefusedError(id, 'rejected');
  return v;
}

/**
 * Resolve the reward model a policy is optimised against (PPO, rejection sampling,
 * best-of-n): a usable reward model that is not a judge. The one check those jobs call.
 */
export async function rewardModelToOptimise(registry: Pick<IModelRegistryRepository, 'get'>, id: string): Promise<ModelVersionRecord> {
  const v = await usableRewardModel(registry, id);
  if (isJudgeRewardModel(v)) throw new RewardModelRefusedError(id, 'judge');
  return v;
}
