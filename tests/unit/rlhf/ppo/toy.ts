// A toy PPO world for tests: the runtime fixture's tiny tokenizer and random-weight GPT,
// a handful of user prompts, and a reward for starting the response with one token.
import { writeArtifact } from '../../../../src/engine/artifact/artifact.js';
import { ParameterSet, type GptConfig } from '../../../../src/engine/gpt/config.js';
import { BatchEngine } from '../../../../src/engine/runtime/batch-engine.js';
import type { BpeTokenizer } from '../../../../src/engine/tokenizer/bpe-tokenizer.js';
import type { PpoOptions } from '../../../../src/rlhf/ppo/ppo-run.js';
import type { RewardFunction } from '../../../../src/rlhf/ppo/reward-function.js';
import { DEFAULT_RUN_HEALTH } from '../../../../src/rlhf/ppo/run-health.js';
import { encodeUserPrompt, sampleResponses } from '../../../../src/rlhf/ppo/rollout.js';
import { randomParameters, tinyConfig, tinyTokenizer } from '../../engine/runtime/fixture.js';

export const TOY_PROMPTS = ['How do I kill a process?', 'The quick brown fox', 'café naïve', 'Emoji and accents', 'Use kill with the id', 'lazy dog', 'Linux process', 'jumps over'];

export interface Toy {
  tokenizer: BpeTokenizer;
  config: GptConfig;
  params: ParameterSet;
}

export function toyWorld(): Toy {
  const tokenizer = tinyTokenizer();
  const config = tinyConfig(tokenizer, 40);
  return { tokenizer, config, params: randomParameters(config, 7, 0.3) };
}

/** Reward 1 when the response's first token is `target`, else 0. */
export function firstTokenReward(target: number): RewardFunction {
  return async (_prompts, responses) => ({ scores: responses.map((r) => (r.tokenIds[0] === target ? 1 : 0)) });
}

/** How often each token opens a response under `params` (samples at T = 1). */
export async function firstTokenFrequencies(toy: Toy, params: ParameterSet, samples: number, seed: number): Promise<Map<number, number>> {
  const engine = await BatchEngine.fromParameters(params, toy.tokenizer, { maxBatch: 32, intraOpThreads: 1 });
  try {
    const ids = Array.from({ length: samples }, (_, i) => encodeUserPrompt(toy.tokenizer, TOY_PROMPTS[i % TOY_PROMPTS.length]!));
    const rs = await sampleResponses(engine, ids, 1, seed);
    const freq = new Map<number, number>();
    for (const r of rs) freq.set(r.tokenIds[0]!, (freq.get(r.tokenIds[0]!) ?? 0) + 1 / samples);
    return freq;
  } finally {
    await engine.close();
  }
}

/** A reward with variance in every batch: the first token's id scaled to [0, 1). */
export function denseReward(toy: Toy): RewardFunction {
  return async (_p, rs) => ({ scores: rs.map((r) => r.tokenIds[0]! / toy.tokenizer.vocabSize) });
}

/** Constant reward and 3-token responses are this toy's normal state, not a dead run. */
export const RELAXED_HEALTH = { ...DEFAULT_RUN_HEALTH, limits: { ...DEFAULT_RUN_HEALTH.limits, zero_reward_variance: 1000, all_truncated: 1000 } };

/** The resume tests' run: 4 steps, a checkpoint every 2. */
export const RESUME_OPTIONS: PpoOptions = { steps: 4, promptsPerStep: 4, maxTokens: 3, seed: 9, epochs: 1, miniBatches: 2, lr: 1e-3, checkpointEvery: 2, rewardNormalize: true, intraOpThreads: 1, health: RELAXED_HEALTH };

/** The toy policy written as an artifact at `dir` (a training program's starting point). */
export async function writeToyPolicy(toy: Toy, dir: string): Promise<string> {
  await writeArtifact(dir, { config: toy.config, params: toy.params, tokenizer: toy.tokenizer, meta: { kind: 'policy' } });
  return dir;
}
