import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchAdvantages, gae, perTokenRewards, whiten } from '../../../../src/rlhf/ppo/advantages.js';

const close = (a: ArrayLike<number>, b: number[], tol = 1e-12) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `index ${i}: ${a[i]} vs ${b[i]}`);
};

test('GAE matches a hand-computed example (γ = 1, λ = 0.95)', () => {
  // δ2 = 1 + 0 − 0.7 = 0.3; δ1 = 0 + 0.7 − 0.6 = 0.1; δ0 = 0 + 0.6 − 0.5 = 0.1
  // A2 = 0.3; A1 = 0.1 + 0.95·0.3 = 0.385; A0 = 0.1 + 0.95·0.385 = 0.46575
  const { advantages, returns } = gae([0, 0, 1], [0.5, 0.6, 0.7], { gamma: 1, lambda: 0.95 });
  close(advantages, [0.46575, 0.385, 0.3]);
  close(returns, [0.96575, 0.985, 1.0]);
});

test('GAE with λ = 1 gives Monte-Carlo returns; with λ = 0 one-step TD errors', () => {
  const rewards = [0.5, -0.25, 2];
  const values = [1, 0.3, -0.4];
  close(gae(rewards, values, { gamma: 1, lambda: 1 }).returns, [2.25, 1.75, 2], 1e-12);
  close(gae(rewards, values, { gamma: 1, lambda: 0 }).advantages, [0.5 + 0.3 - 1, -0.25 - 0.4 - 0.3, 2 + 0.4]);
  close(gae(rewards, values, { gamma: 0.5, lambda: 1 }).returns, [0.5 + 0.5 * (-0.25) + 0.25 * 2, -0.25 + 0.5 * 2, 2]);
});

test('per-token rewards: −β·(log π − log π_ref) at every token, the score added at the last', () => {
  const r = perTokenRewards({ logprobs: [-1, -2], refLogprobs: [-1.5, -1], values: [0, 0], score: 2 }, { klCoef: 0.1 });
  close(r, [-0.05, 0.1 + 2]);
  assert.throws(() => perTokenRewards({ logprobs: [-1], refLogprobs: [-1, -2], values: [0], score: 0 }, { klCoef: 0.1 }), /lengths differ/);
});

test('whitening: zero mean, unit (unbiased) variance across the whole batch; shiftMean=false keeps the mean', () => {
  const rows = [Float64Array.from([1, 2, 3]), Float64Array.from([4, 10])];
  const w = whiten(rows);
  const all = w.flatMap((r) => [...r]);
  const mean = all.reduce((a, b) => a + b, 0) / all.length;
  const variance = all.reduce((a, b) => a + (b - mean) ** 2, 0) / (all.length - 1);
  assert.ok(Math.abs(mean) < 1e-12);
  assert.ok(Math.abs(variance - 1) < 1e-6);
  const kept = whiten(rows, { shiftMean: false }).flatMap((r) => [...r]);
  assert.ok(Math.abs(kept.reduce((a, b) => a + b, 0) / kept.length - 4) < 1e-12);
});

test('batchAdvantages: returns stay in reward units, advantages are whitened', () => {
  const out = batchAdvantages(
    [
      { logprobs: [-1, -1], refLogprobs: [-1, -1], values: [0, 0], score: 1 },
      { logprobs: [-1], refLogprobs: [-1], values: [0], score: -1 },
    ],
    { klCoef: 0.2 },
  );
  close(out.returns[0]!, [0.95, 1]); // A0 = 0 + 0.95·A1, values 0
  close(out.returns[1]!, [-1]);
  assert.ok(out.advantages[0]![0]! > 0 && out.advantages[1]![0]! < 0);
});
