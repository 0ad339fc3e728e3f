// The evaluator's reward scorer (evaluation/sampling/reward-scorer.ts) over the reward-model
// runtime: REWARD_SCORER_PROVIDER's `forVersion(id)` loads a registered RM version's artifact
// once (on its own worker thread, off the event loop) and scores conversation + response
// rows: the proxy reward is the ensemble objective (default mean) of the members' scores,
// and every member's score is returned for the ensemble-disagreement figures. An unknown or
// rejected RM version is refused (RewardModelRefusedError, not retriable).
import { isAbsolute } from 'node:path';
import type { RewardScorer, RewardScores, RewardScoringRow } from '../../evaluation/sampling/index.js';
import type { ArtifactStore } from '../../platform/artifacts/artifact-store.js';
import type { IModelRegistryRepository } from '../../platform/persistence/repositories/index.js';
import { RewardModelScoring } from '../../rlhf/ppo/rm-reward.js';
import { ensembleObjective, type EnsembleObjective } from '../../rlhf/reward/ensemble.js';
import { encodePrompt, encodeResponse } from '../../rlhf/reward/rm-data.js';
import { usableRewardModel } from '../reward-model-version.js';
import type { RewardScorerProvider } from './evaluation-job.handler.js';

/** One reward-model version as the evaluator's RewardScorer. */
export class RewardModelRowScorer implements RewardScorer {
  constructor(
    readonly id: string,
    private readonly model: RewardModelScoring,
    private readonly objective: EnsembleObjective = { kind: 'mean' },
  ) {}

  async score(rows: readonly RewardScoringRow[]): Promise<RewardScores> {
    const tokenizer = this.model.tokenizer;
    const perRow = await this.model.scoreTokens(rows.map((r, i) => ({ prompt: encodePrompt(tokenizer, r.messages, `rows[${i}].messages`), response: encodeResponse(tokenizer, r.response) })));
    return {
      rewards: perRow.map((m) => ensembleObjective(m, this.objective)),
      members: Array.from({ length: this.model.members }, (_, k) => perRow.map((m) => m[k]!)),
    };
  }
}

export class RewardModelScorers implements RewardScorerProvider {
  private readonly loaded = new Map<string, Promise<{ scorer: RewardModelRowScorer; model: RewardModelScoring }>>();

  constructor(
    private readonly registry: IModelRegistryRepository,
    private readonly artifacts: ArtifactStore,
    private readonly options: { objective?: EnsembleObjective; intraOpThreads?: number } = {},
  ) {}

  async forVersion(modelVersionId: string): Promise<RewardScorer> {
    let entry = this.loaded.get(modelVersionId);
    if (!entry) {
      entry = this.load(modelVersionId);
      this.loaded.set(modelVersionId, entry);
      // a failed load is not cached: the next job tries again
      entry.catch(() => this.loaded.delete(modelVersionId));
    }
    return (await entry).scorer;
  }

  /** Release every loaded reward model's worker thread. */
  async close(): Promise<void> {
    const entries = [...this.loaded.values()];
    this.loaded.clear();
    for (const settled of await Promise.allSettled(entries)) if (settled.status === 'fulfilled') await settled.value.model.close();
  }

  private async load(id: string): Promise<{ scorer: RewardModelRowScorer; model: RewardModelScoring }> {
    const version = await usableRewardModel(this.registry, id);
    const dir = isAbsolute(version.artifactPath) ? version.artifactPath : this.artifacts.resolve(version.artifactPath);
    const model = await RewardModelScoring.load({ dir, thread: true, ...(this.options.intraOpThreads !== undefined ? { intraOpThreads: this.options.intraOpThreads } : {}) });
    return { scorer: new RewardModelRowScorer(id, model, this.options.objective), model };
  }
}
