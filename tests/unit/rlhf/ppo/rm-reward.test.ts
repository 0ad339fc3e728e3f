// A trained reward-model artifact as PPO's reward: the reward function returns exactly the
// scores RewardScorer gives the same (prompt, response) ids, every member's; a mismatched
// tokenizer and bad options are refused naming the field; PPO on a TrainThread runs on it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRewardArtifact } from '../../../../src/engine/artifact/reward-artifact.js';
import { ArtifactError } from '../../../../src/engine/errors.js';
import { RewardScorer } from '../../../../src/engine/runtime/reward-scorer.js';
import { objectiveScores } from '../../../../src/rlhf/ppo/reward-function.js';
import { createRewardFunction, RewardModelScoring, RM_REWARD_MODULE_URL } from '../../../../src/rlhf/ppo/rm-reward.js';
import { encodeUserPrompt } from '../../../../src/rlhf/ppo/rollout.js';
import { startPpo } from '../../../../src/rlhf/ppo/ppo.program.js';
import { randomParameters } from '../../engine/runtime/fixture.js';
import { RELAXED_HEALTH, TOY_PROMPTS, toyWorld, writeToyPolicy } from './toy.js';

describe('reward-model artifact as a PPO reward', () => {
  const toy = toyWorld();
  let root = '';
  let rmDir = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rm-reward-'));
    rmDir = join(root, 'rm');
    const members = [randomParameters(toy.config, 11, 0.3), randomParameters(toy.config, 12, 0.3)];
    await writeRewardArtifact(rmDir, { members, tokenizer: toy.tokenizer, meta: { parentArtifactId: null, datasetSnapshotId: null, trainingRunId: null, training: {}, metrics: {} } });
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("returns every member's score exactly as RewardScorer scores the same ids", async () => {
    const responses = [
      { text: 'a', tokenIds: toy.tokenizer.encode('kill it'), endedWithEos: false },
      { text: 'b', tokenIds: toy.tokenizer.encode('the lazy dog jumps'), endedWithEos: false },
      { text: 'c', tokenIds: toy.tokenizer.encode('x'), endedWithEos: false },
    ];
    const prompts = TOY_PROMPTS.slice(0, 3);
    const reward = await createRewardFunction({ dir: rmDir, policyTokenizerHash: toy.tokenizer.hash(), maxBatch: 2 });
    const got = await reward(prompts, responses);
    const scorer = await RewardScorer.load(rmDir);
    try {
      const want = await scorer.score(responses.map((r, i) => ({ prompt: encodeUserPrompt(toy.tokenizer, prompts[i]!), response: r.tokenIds })));
      assert.equal(got.members!.length, 3);
      for (let i = 0; i < 3; i++) {
        assert.deepEqual(got.members![i], [want.scores[0]![i], want.scores[1]![i]]);
        assert.equal(got.scores[i], (want.scores[0]![i]! + want.scores[1]![i]!) / 2);
      }
      assert.notEqual(got.members![0]![0], got.members![0]![1], 'two members with different weights score differently');
      assert.deepEqual(objectiveScores(got, 3, { kind: 'wco' }), got.members!.map((m) => Math.min(...m)));
    } finally {
      await scorer.release();
    }
  });

  it('scores the same on its own worker thread', async () => {
    const responses = [{ text: 'a', tokenIds: toy.tokenizer.encode('fox'), endedWithEos: false }];
    const inline = await RewardModelScoring.load({ dir: rmDir });
    const threaded = await RewardModelScoring.load({ dir: rmDir, thread: true });
    try {
      assert.deepEqual(await threaded.reward(['lazy dog'], responses), await inline.reward(['lazy dog'], responses));
    } finally {
      await inline.close();
      await threaded.close();
    }
  });

  it('refuses another tokenizer and bad options, naming the field', async () => {
    await assert.rejects(createRewardFunction({ dir: rmDir, policyTokenizerHash: 'f'.repeat(64) }), (e: unknown) => e instanceof ArtifactError && /not the policy's/.test(e.message));
    await assert.rejects(createRewardFunction({ dir: rmDir, maxBatch: 0 }), /options\.maxBatch/);
    await assert.rejects(createRewardFunction({ path: rmDir }), /options\./);
  });

  it('drives PPO on a TrainThread under the UWO objective: every step scored by the RM', async () => {
    const policyDir = await writeToyPolicy(toy, join(root, 'policy'));
    const run = startPpo({
      policyDir,
      reward: { moduleUrl: RM_REWARD_MODULE_URL, options: { dir: rmDir, policyTokenizerHash: toy.tokenizer.hash(), intraOpThreads: 1 } },
      prompts: TOY_PROMPTS,
      outDir: join(root, 'run'),
      options: { steps: 2, promptsPerStep: 4, maxTokens: 3, seed: 3, epochs: 1, miniBatches: 1, lr: 1e-3, checkpointEvery: 2, objective: { kind: 'uwo', lambda: 0.5 }, intraOpThreads: 1, health: RELAXED_HEALTH },
    });
    const r = await run.done;
    assert.deepEqual(r.stop, { kind: 'completed' });
    assert.equal(r.history.length, 2);
    for (const m of r.history) {
      assert.ok(Number.isFinite(m.reward_mean) && m.reward_std > 0, `step ${m.step}: reward ${m.reward_mean} ± ${m.reward_std}`);
    }
  });
});
