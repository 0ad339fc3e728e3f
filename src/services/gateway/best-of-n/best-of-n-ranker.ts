// Best-of-n serving (Stiennon et al. 2020; Gao et al. 2022): with
// OUTERLOOP_GATEWAY_BEST_OF_N=N:VERSION the gateway samples N answers to a chat and
// returns the one reward model VERSION scores highest — value-guided decoding at serving
// time, the deployable form of the best-of-n baseline. It buys reward without training, at
// N× the generated tokens and at a bounded distance from the served policy:
// KL(π_bon ‖ π) ≤ log N − (N − 1)/N nats (src/rlhf/best-of-n/kl.ts).
//
// The RM is refused as for PPO (rewardModelToOptimise: unknown, rejected and judge RMs), and
// scores on its own worker thread (RewardScorerThread) so the event loop keeps serving. The
// conversation and each answer are rendered as the RM was trained on them (rm-data.ts:
// the chat template, then the answer and the end-of-turn token).
import type { ChatMessage } from '../../../engine/chat-template.js';
import type { ArtifactStore } from '../../../platform/artifacts/artifact-store.js';
import type { IModelRegistryRepository } from '../../../platform/persistence/repositories/index.js';
import { bestOfNKl } from '../../../rlhf/best-of-n/kl.js';
import { RewardModelScoring } from '../../../rlhf/ppo/rm-reward.js';
import { encodePrompt, encodeResponse } from '../../../rlhf/reward/rm-data.js';
import { rewardModelToOptimise } from '../../reward-model-version.js';

/** What the chat use case needs to rank n sampled answers. */
export interface BestOfNRanker {
  readonly n: number;
  readonly rewardModelVersion: string;
  /** log n − (n − 1)/n nats */
  readonly klBound: number;
  /** The RM's score of each answer to the conversation `messages`. */
  score(messages: readonly ChatMessage[], answers: readonly string[]): Promise<number[]>;
  close(): Promise<void>;
}

export interface BestOfNSettings {
  n: number;
  rewardModelVersion: string;
}

/** The ranker for the configured RM version, loaded from the registry's artifact. */
export async function loadBestOfNRanker(
  settings: BestOfNSettings,
  registry: Pick<IModelRegistryRepository, 'get'>,
  artifacts: Pick<ArtifactStore, 'resolve'>,
  options: { intraOpThreads?: number } = {},
): Promise<BestOfNRanker> {
  const klBound = bestOfNKl(settings.n);
  const version = await rewardModelToOptimise(registry, settings.rewardModelVersion);
  const dir = version.artifactPath.startsWith('/') ? version.artifactPath : artifacts.resolve(version.artifactPath);
  const rm = await RewardModelScoring.load({ dir, thread: true, ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}) });
  return {
    n: settings.n,
    rewardModelVersion: version.id,
    klBound,
    async score(messages, answers) {
      const prompt = encodePrompt(rm.tokenizer, messages);
      const members = await rm.scoreTokens(answers.map((a) => ({ prompt, response: encodeResponse(rm.tokenizer, a) })));
      return members.map((m) => m.reduce((s, x) => s + x, 0) / m.length);
    },
    close: () => rm.close(),
  };
}
