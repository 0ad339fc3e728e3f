// REWARD_SCORER_PROVIDER over the reward-model runtime: a registered RM version scores
// conversation + response rows exactly as RewardScorer scores their ids (every member's
// score, the proxy reward their objective), loads once per version, and an unknown or
// rejected version is refused naming it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ModelVersionRecord } from '../../../../src/domain/models.js';
import { writeRewardArtifact } from '../../../../src/engine/artifact/reward-artifact.js';
import { RewardScorer } from '../../../../src/engine/runtime/reward-scorer.js';
import type { ArtifactStore } from '../../../../src/platform/artifacts/artifact-store.js';
import type { IModelRegistryRepository } from '../../../../src/platform/persistence/repositories/index.js';
import { encodePrompt, encodeResponse } from '../../../../src/rlhf/reward/rm-data.js';
import { RewardModelScorers } from '../../../../src/services/evaluator/reward-model-scorers.js';
import { RewardModelRefusedError } from '../../../../src/services/reward-model-version.js';
import { randomParameters } from '../../engine/runtime/fixture.js';
import { toyWorld } from '../../rlhf/ppo/toy.js';

describe('RewardModelScorers (the evaluator reward scorer)', () => {
  const toy = toyWorld();
  let dir = '';
  let scorers: RewardModelScorers;
  const versions = new Map<string, ModelVersionRecord>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rm-scorers-'));
    const manifest = await writeRewardArtifact(join(dir, 'rm'), {
      members: [randomParameters(toy.config, 41, 0.3), randomParameters(toy.config, 42, 0.3), randomParameters(toy.config, 43, 0.3)], tokenizer: toy.tokenizer,
      meta: { parentArtifactId: null, datasetSnapshotId: null, trainingRunId: null, training: {}, metrics: {} },
    });
    const base = { parentId: null, artifactPath: join(dir, 'rm'), sha256: manifest.artifactId, trainingRunId: null, datasetSnapshotId: null, metrics: {}, createdAt: new Date() };
    versions.set('reward-ok', { ...base, id: 'reward-ok', kind: 'reward', status: 'candidate' });
    versions.set('reward-rejected', { ...base, id: 'reward-rejected', kind: 'reward', status: 'rejected' });
    const registry = { get: async (id: string) => versions.get(id) ?? null } as unknown as IModelRegistryRepository;
    scorers = new RewardModelScorers(registry, { resolve: (p: string) => join(dir, p) } as unknown as ArtifactStore, { objective: { kind: 'wco' } });
  });
  after(async () => {
    await scorers.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("scores rows as RewardScorer scores their ids: members, and the objective as the proxy reward", async () => {
    const rows = [
      { messages: [{ role: 'user', content: 'How do I kill a process?' }], response: 'Use kill' },
      { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'lazy dog' }], response: 'The quick brown fox' },
    ];
    const scorer = await scorers.forVersion('reward-ok');
    assert.equal(scorer.id, 'reward-ok');
    assert.equal(await scorers.forVersion('reward-ok'), scorer, 'loaded once per version');
    const got = await scorer.score(rows);
    const direct = await RewardScorer.load(join(dir, 'rm'));
    try {
      const want = await direct.score(rows.map((r) => ({ prompt: encodePrompt(toy.tokenizer, r.messages), response: encodeResponse(toy.tokenizer, r.response) })));
      assert.deepEqual(got.members, want.scores.map((m) => Array.from(m)));
      assert.deepEqual(got.rewards, rows.map((_, i) => Math.min(...want.scores.map((m) => m[i]!))));
    } finally {
      await direct.release();
    }
  });

  it('refuses an unknown or rejected reward model, naming it', async () => {
    await assert.rejects(scorers.forVersion('reward-missing'), (e: unknown) => e instanceof RewardModelRefusedError && e.code === 'reward_model_unknown' && e.message.includes('reward-missing'));
    await assert.rejects(scorers.forVersion('reward-rejected'), (e: unknown) => e instanceof RewardModelRefusedError && e.code === 'reward_model_rejected' && !e.retriable);
  });
});
