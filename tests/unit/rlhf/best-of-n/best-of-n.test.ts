// Best-of-n and rejection-sampling fine-tuning on the toy task (reward for one first token):
// the best of n scores at least the sample mean, more with larger n, the KL bound is
// log n − (n−1)/n; SFT on the winners raises the policy's own reward.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchEngine } from '../../../../src/engine/runtime/batch-engine.js';
import { bestOfN } from '../../../../src/rlhf/best-of-n/best-of-n.js';
import { rejectionSamplingFineTune } from '../../../../src/rlhf/best-of-n/rejection-sampling.js';
import { firstTokenFrequencies, firstTokenReward, TOY_PROMPTS, toyWorld } from '../ppo/toy.js';

describe('best-of-n and rejection sampling', () => {
  const toy = toyWorld();
  const target = 112; // the toy policy opens with it ≈ 11% of the time (tests/unit/rlhf/ppo)

  it('best-of-n: the winners outscore the samples, more so with n; KL bound log n − (n−1)/n', async () => {
    const engine = await BatchEngine.fromParameters(toy.params, toy.tokenizer, { maxBatch: 64, intraOpThreads: 1 });
    try {
      const r1 = await bestOfN(engine, firstTokenReward(target), TOY_PROMPTS, { n: 1, maxTokens: 2, seed: 3 });
      const r8 = await bestOfN(engine, firstTokenReward(target), TOY_PROMPTS, { n: 8, maxTokens: 2, seed: 3 });
      assert.equal(r1.klBound, 0);
      assert.ok(Math.abs(r8.klBound - (Math.log(8) - 7 / 8)) < 1e-12);
      assert.equal(r8.samples, 8 * TOY_PROMPTS.length);
      assert.ok(r8.bestMeanScore >= r8.sampleMeanScore);
      assert.ok(r8.bestMeanScore > r1.bestMeanScore, `best-of-8 ${r8.bestMeanScore} vs best-of-1 ${r1.bestMeanScore}`);
    } finally {
      await engine.close();
    }
  });

  it('rejection-sampling fine-tuning raises the policy’s own rate of the rewarded token', async () => {
    const prompts = [...TOY_PROMPTS, ...TOY_PROMPTS];
    const rs = await rejectionSamplingFineTune({ config: toy.config, tokenizer: toy.tokenizer, policy: toy.params, reward: firstTokenReward(target), prompts }, { n: 16, maxTokens: 2, seed: 4, steps: 20, batchSize: 8, lr: 3e-3, intraOpThreads: 1 });
    assert.ok(rs.selection.bestMeanScore >= 0.5, `best-of-16 mean ${rs.selection.bestMeanScore}`);
    const before = (await firstTokenFrequencies(toy, toy.params, 64, 99)).get(target) ?? 0;
    const after = (await firstTokenFrequencies(toy, rs.params, 64, 99)).get(target) ?? 0;
    assert.ok(after > before + 0.1, `P(first token = target) ${before} → ${after}`);
  });
});
