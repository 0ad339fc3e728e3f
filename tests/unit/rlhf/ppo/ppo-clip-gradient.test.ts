// The clipped surrogate through the engine's training graph: a token whose ratio
// π/π_old is outside [1 − ε, 1 + ε] in the direction its advantage pushes contributes no
// gradient (PPO's clip removes the incentive to move it further); inside the range it does.
// Old log-probs are set from the scoring graph's log-probs so the ratio is known exactly.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { GptConfig } from '../../../../src/engine/gpt/config.js';
import { GptScorer } from '../../../../src/engine/train/scorer.js';
import { TrainStep } from '../../../../src/engine/train/train-step.js';
import { ppoLoss } from '../../../../src/rlhf/ppo/ppo.loss.js';
import { randomParameters } from '../../engine/runtime/fixture.js';

const CONFIG: GptConfig = { vocabSize: 16, maxSeqLen: 8, channels: 8, layers: 1, heads: 2 };
const T = 4;
const tokens = BigInt64Array.from([1, 5, 7, 2].map(BigInt));
const targets = BigInt64Array.from([5, 7, 2, 9].map(BigInt));

async function gradientFor(logRatio: number, advantage: number): Promise<{ norm: number; clipFraction: number }> {
  const params = randomParameters(CONFIG, 3, 0.3);
  const scorer = await GptScorer.create(CONFIG, { intraOpThreads: 1 });
  const s = await scorer.score(params.data, { tokens, targets, lengths: BigInt64Array.of(4n), batch: 1, seqLen: T });
  // one action token (position 2) with ratio e^logRatio; its advantage alone is non-zero
  const mask = Float32Array.of(0, 0, 1, 0);
  const oldLogprobs = Float32Array.from(s.logprobs, (lp) => lp - logRatio);
  const step = await TrainStep.create(CONFIG, ppoLoss, { intraOpThreads: 1 });
  const grads = new Float32Array(params.data.length);
  const out = await step.run(params.data, {
    tokens: { data: tokens, shape: [1, T] },
    targets: { data: targets, shape: [1, T] },
    action_mask: { data: mask, shape: [1, T] },
    old_logprobs: { data: oldLogprobs, shape: [1, T] },
    advantages: { data: Float32Array.of(0, 0, advantage, 0), shape: [1, T] },
    returns: { data: new Float32Array(T), shape: [1, T] },
    old_values: { data: new Float32Array(T), shape: [1, T] },
    clip_eps: 0.2,
    value_clip: 0.2,
    value_coef: 0, // the policy term alone
    entropy_coef: 0,
  }, grads);
  let ss = 0;
  for (const g of grads) ss += g * g;
  return { norm: Math.sqrt(ss), clipFraction: out.metrics.clip_fraction! };
}

describe('PPO clipped surrogate (engine graph)', () => {
  it('ratio above 1 + ε with a positive advantage: zero gradient', async () => {
    const r = await gradientFor(Math.log(1.5), 1);
    assert.equal(r.clipFraction, 1);
    assert.equal(r.norm, 0);
  });

  it('ratio below 1 − ε with a negative advantage: zero gradient', async () => {
    const r = await gradientFor(Math.log(0.5), -1);
    assert.equal(r.norm, 0);
  });

  it('ratio inside the range: non-zero gradient, for either sign of the advantage', async () => {
    for (const [lr, a] of [[Math.log(1.1), 1], [Math.log(0.9), -1], [0, 1]] as const) {
      const r = await gradientFor(lr, a);
      assert.equal(r.clipFraction, 0);
      assert.ok(r.norm > 1e-4, `gradient norm ${r.norm} at log-ratio ${lr}, advantage ${a}`);
    }
  });

  it('ratio outside the range against the advantage: the unclipped term still pulls it back', async () => {
    // ratio 1.5 with A < 0: max(−Aρ, −A·clip) = −Aρ, so the gradient is non-zero
    const r = await gradientFor(Math.log(1.5), -1);
    assert.ok(r.norm > 1e-4, `gradient norm ${r.norm}`);
  });
});
