// A reward module for PPO on a TrainThread (ppo.program.ts): createRewardFunction({ target })
// rewards responses that open with token `target`.
import type { RewardFunction } from '../../../../src/rlhf/ppo/reward-function.js';

export function createRewardFunction(options: { target: number }): RewardFunction {
  return async (_prompts, responses) => ({ scores: responses.map((r) => (r.tokenIds[0] === options.target ? 1 : r.tokenIds[0]! / 1000)) });
}
