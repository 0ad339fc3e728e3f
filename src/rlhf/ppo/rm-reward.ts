// A trained reward model as PPO's reward: `createRewardFunction({ dir })` loads a reward-model
// artifact (engine/artifact/reward-artifact.ts) and scores with its batched scorer
// (engine/runtime/reward-scorer.ts), so `startPpo({ reward: { moduleUrl: RM_REWARD_MODULE_URL,
// options: { dir } } })` optimises a trained RM. Every member's score is returned; PPO's
// `objective` option (mean / UWO / WCO) turns them into the score it maximises.
//
// The prompt is rendered as the rollout renders it (one user turn, then the assistant
// marker) with the RM's tokenizer; the response is scored on the token ids the policy
// generated, so the RM must read the policy's ids: give `policyTokenizerHash` and a
// mismatch is refused at load.
//
// The scorer runs on the calling thread by default (PPO's program already runs on a
// TrainThread); `thread: true` puts it on its own worker (RewardScorerThread) for a process
// that serves HTTP.

import { z } from 'zod';
import { readRewardManifest, readRewardTokenizer, type RewardManifest } from '../../engine/artifact/reward-artifact.js';
import { ArtifactError } from '../../engine/errors.js';
import { RewardScorer, type RewardScorerOptions, type RewardScores as MemberScores, type RewardScoringInput } from '../../engine/runtime/reward-scorer.js';
import { RewardScorerThread } from '../../engine/runtime/reward-scorer-thread.js';
import type { BpeTokenizer } from '../../engine/tokenizer/bpe-tokenizer.js';
import { encodeUserPrompt } from './rollout.js';
import type { RewardFunction } from './reward-function.js';

/** The module URL to name in `startPpo({ reward: { moduleUrl } })`. */
export const RM_REWARD_MODULE_URL = import.meta.url;

export const rmRewardOptionsSchema = z.strictObject({
  /** the reward-model artifact directory */
  dir: z.string().min(1),
  thread: z.boolean().optional(),
  maxBatch: z.number().int().positive().optional(),
  intraOpThreads: z.number().int().positive().optional(),
  /** the policy's tokenizer hash: an RM that reads other token ids is refused */
  policyTokenizerHash: z.string().min(1).optional(),
});
export type RmRewardOptions = z.infer<typeof rmRewardOptionsSchema>;

interface MemberScorer {
  score(inputs: readonly RewardScoringInput[]): Promise<MemberScores>;
}

/** A loaded reward model: its manifest, its tokenizer and a batched scorer over token ids. */
export class RewardModelScoring {
  private constructor(
    readonly manifest: RewardManifest,
    readonly tokenizer: BpeTokenizer,
    private readonly scorer: MemberScorer,
    private readonly release: () => Promise<void>,
  ) {}

  static async load(raw: unknown): Promise<RewardModelScoring> {
    const parsed = rmRewardOptionsSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new TypeError(`reward model options.${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    const o = parsed.data;
    const manifest = await readRewardManifest(o.dir);
    if (o.policyTokenizerHash && o.policyTokenizerHash !== manifest.tokenizerHash) {
      throw new ArtifactError(`${o.dir}: the reward model's tokenizer (${manifest.tokenizerHash.slice(0, 12)}) is not the policy's (${o.policyTokenizerHash.slice(0, 12)}): it would read other token ids`);
    }
    const tokenizer = await readRewardTokenizer(o.dir, manifest);
    const scorerOptions: RewardScorerOptions = { ...(o.maxBatch ? { maxBatch: o.maxBatch } : {}), ...(o.intraOpThreads ? { intraOpThreads: o.intraOpThreads } : {}) };
    if (o.thread) {
      const thread = await RewardScorerThread.load(o.dir, scorerOptions);
      return new RewardModelScoring(manifest, tokenizer, thread, () => thread.close());
    }
    const scorer = await RewardScorer.load(o.dir, scorerOptions);
    return new RewardModelScoring(manifest, tokenizer, scorer, () => scorer.release());
  }

  get members(): number {
    return this.manifest.members;
  }

  /** members[i][k]: member k's score of input i. */
  async scoreTokens(inputs: readonly RewardScoringInput[]): Promise<number[][]> {
    const { scores } = await this.scorer.score(inputs);
    return inputs.map((_, i) => scores.map((member) => member[i]!));
  }

  /** PPO's reward: each response's ensemble mean in `scores`, every member's score in `members`. */
  readonly reward: RewardFunction = async (prompts, responses) => {
    if (prompts.length !== responses.length) throw new RangeError(`reward model: ${prompts.length} prompts for ${responses.length} responses`);
    const members = await this.scoreTokens(responses.map((r, i) => ({ prompt: encodeUserPrompt(this.tokenizer, prompts[i]!), response: r.tokenIds })));
    return { scores: members.map((m) => m.reduce((s, x) => s + x, 0) / m.length), members };
  };

  close(): Promise<void> {
    return this.release();
  }
}

/** The reward-module entry point ppo.program.ts calls (options: RmRewardOptions). */
export async function createRewardFunction(options: unknown): Promise<RewardFunction> {
  return (await RewardModelScoring.load(options)).reward;
}
