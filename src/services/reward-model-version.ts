// A reward-model version the trainer (PPO, rejection sampling) or the evaluator is asked to
// use: it must be in the registry, of kind reward, and not rejected by its quality gate.
import type { ModelVersionRecord } from '../domain/models.js';
import type { IModelRegistryRepository } from '../platform/persistence/repositories/index.js';

/** The named reward model cannot be used: unknown, not a reward model, or rejected by its gate. */
export class RewardModelRefusedError extends Error {
  readonly code: 'reward_model_unknown' | 'reward_model_rejected';
  readonly retriable = false;
  constructor(readonly rewardModelVersion: string, reason: 'unknown' | 'not_reward' | 'rejected') {
    super(
      reason === 'rejected'
        ? `reward model ${JSON.stringify(rewardModelVersion)} is rejected (it failed its quality gate); train a new one or name another`
        : reason === 'not_reward'
          ? `model version ${JSON.stringify(rewardModelVersion)} is not a reward model`
          : `reward model ${JSON.stringify(rewardModelVersion)} is not in the registry`,
    );
    this.name = 'RewardModelRefusedError';
    this.code = reason === 'rejected' ? 'reward_model_rejected' : 'reward_model_unknown';
  }
}

/** Resolve a reward-model version for training or scoring, or refuse it with a typed, non-retriable error. */
export async function usableRewardModel(registry: Pick<IModelRegistryRepository, 'get'>, id: string): Promise<ModelVersionRecord> {
  const v = await registry.get(id);
  if (!v) throw new RewardModelRefusedError(id, 'unknown');
  if (v.kind !== 'reward') throw new RewardModelRefusedError(id, 'not_reward');
  if (v.status === 'rejected') throw new RewardModelRefusedError(id, 'rejected');
  return v;
}
