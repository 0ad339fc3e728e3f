// The gateway's best-of-n ranker refuses what PPO refuses (an unknown, rejected or judge
// reward model: the one decision in src/services/reward-model-version.ts), and the mode
// turns a refusal into a 503 naming it, reported by /readyz until a retry succeeds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { ModelVersionRecord } from '../../../../../src/domain/models.js';
import { RewardModelRefusedError } from '../../../../../src/services/reward-model-version.js';
import { BestOfNMetrics, BestOfNMode } from '../../../../../src/services/gateway/best-of-n/best-of-n-mode.js';
import { loadBestOfNRanker, type BestOfNRanker } from '../../../../../src/services/gateway/best-of-n/best-of-n-ranker.js';
import { GatewayError } from '../../../../../src/services/gateway/errors.js';

const version = (id: string, over: Partial<ModelVersionRecord>): ModelVersionRecord => ({ id, kind: 'reward', status: 'candidate', metrics: {}, artifactPath: '/nowhere', ...over }) as ModelVersionRecord;
const registry = {
  get: async (id: string) => ({ 'reward-judge': version('reward-judge', { metrics: { judge: true } }), 'reward-bad': version('reward-bad', { status: 'rejected' }) })[id] ?? null,
};
const artifacts = { resolve: (p: string) => p };

describe('best-of-n ranker and mode', () => {
  it('refuses an unknown, rejected or judge reward model, naming it', async () => {
    await assert.rejects(loadBestOfNRanker({ n: 4, rewardModelVersion: 'reward-nope' }, registry, artifacts), (e: unknown) => e instanceof RewardModelRefusedError && e.code === 'reward_model_unknown');
    await assert.rejects(loadBestOfNRanker({ n: 4, rewardModelVersion: 'reward-bad' }, registry, artifacts), (e: unknown) => e instanceof RewardModelRefusedError && e.code === 'reward_model_rejected');
    await assert.rejects(loadBestOfNRanker({ n: 4, rewardModelVersion: 'reward-judge' }, registry, artifacts), (e: unknown) => e instanceof RewardModelRefusedError && e.code === 'reward_model_is_judge' && /reward-judge/.test(e.message));
  });

  it('a refused RM is a 503 naming it and not ready; the next request retries the load, then picks the best (first on ties)', async () => {
    let attempts = 0;
    const ranker: BestOfNRanker = { n: 3, rewardModelVersion: 'reward-ok', klBound: Math.log(3) - 2 / 3, score: async (_m, answers) => answers.map((a) => (a === 'b' || a === 'c' ? 1 : 0)), close: async () => {} };
    const mode = new BestOfNMode(3, async () => {
      attempts++;
      if (attempts === 1) throw new RewardModelRefusedError('reward-judge', 'judge');
      return ranker;
    }, new BestOfNMetrics(new Registry()));
    const answers = [{ text: 'a', completionTokens: 2 }, { text: 'b', completionTokens: 3 }, { text: 'c', completionTokens: 5 }];
    await assert.rejects(mode.choose([], answers), (e: unknown) => e instanceof GatewayError && e.status === 503 && e.code === 'best_of_n_unavailable' && /reward-judge/.test(e.message));
    assert.equal(mode.health().up, false);
    assert.match(mode.health().detail!, /judge/);
    const report = await mode.choose([], answers);
    assert.equal(attempts, 2);
    assert.equal(mode.health().up, true);
    assert.equal(report.chosen_index, 1);
    assert.deepEqual(report.scores, [0, 1, 1]);
    assert.equal(report.sampled_completion_tokens, 10);
    assert.equal(report.extra_completion_tokens, 7);
    assert.ok(Math.abs(report.kl_bound_nats - (Math.log(3) - 2 / 3)) < 1e-12);
  });
});
