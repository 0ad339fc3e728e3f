// Rollouts: the scoring graph's log-probs of each response token (old log-probs, reference
// log-probs) must be the log-probs the serving runtime sampled that token with — the check
// that response tokens and scoring positions line up; with the policy as its own reference,
// k1 = k3 = 0; a response cut at max tokens loses the truncation penalty.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchEngine } from '../../../../src/engine/runtime/batch-engine.js';
import { GptScorer } from '../../../../src/engine/train/scorer.js';
import { collectRollout } from '../../../../src/rlhf/ppo/rollout.js';
import { summarizeKl } from '../../../../src/rlhf/ppo/kl.js';
import { TOY_PROMPTS, toyWorld } from './toy.js';

describe('collectRollout', () => {
  it('scores each response token at its own position (sampler log-probs = scoring-graph log-probs)', async () => {
    const toy = toyWorld();
    const engine = await BatchEngine.fromParameters(toy.params, toy.tokenizer, { maxBatch: 8, intraOpThreads: 1 });
    const scorer = await GptScorer.create(toy.config, { intraOpThreads: 1 });
    try {
      const reward = async (_p: readonly string[], rs: readonly { tokenIds: readonly number[] }[]) => ({ scores: rs.map((r) => r.tokenIds.length) });
      const r = await collectRollout({ engine, scorer, policy: toy.params, reference: toy.params, reward }, TOY_PROMPTS, { maxTokens: 6, seed: 3, truncationPenalty: 100, scoreBatch: 3 });
      // the same rows sampled again give the sampler's own log-probs
      const again = await Promise.all(r.promptIds.map((p, i) => engine.generate({ prompt: p, maxTokens: 6, temperature: 1, topP: 1, seed: 3 + i })));
      r.responses.forEach((resp, i) => {
        assert.deepEqual(again[i]!.tokens.map((t) => t.tokenId), resp.tokenIds);
        again[i]!.tokens.forEach((t, j) => assert.ok(Math.abs(t.logprob - r.logprobs[i]![j]!) < 2e-3, `row ${i} token ${j}: sampler ${t.logprob} vs scoring ${r.logprobs[i]![j]}`));
        assert.equal(r.refLogprobs[i]!.length, resp.tokenIds.length);
        assert.equal(resp.endedWithEos, again[i]!.finishReason === 'stop');
        assert.equal(r.scores[i], resp.tokenIds.length - (resp.endedWithEos ? 0 : 100));
      });
      assert.ok(r.responses.some((x) => !x.endedWithEos), 'some response was cut at max tokens');
      const kl = summarizeKl(r.logprobs.map((l, i) => ({ logprobs: l, refLogprobs: r.refLogprobs[i]! })));
      assert.equal(kl.k1, 0);
      assert.equal(kl.k3, 0);
    } finally {
      await engine.close();
    }
  });
});
