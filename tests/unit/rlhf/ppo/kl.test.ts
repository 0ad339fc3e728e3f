import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../../src/engine/rng.js';
import { AdaptiveKlController, FixedKlController } from '../../../../src/rlhf/ppo/kl-controller.js';
import { exactKl, k1, k3, summarizeKl } from '../../../../src/rlhf/ppo/kl.js';
import { bestOfNKl } from '../../../../src/rlhf/best-of-n/kl.js';

function logSoftmax(z: number[]): number[] {
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((s, x) => s + Math.exp(x - m), 0));
  return z.map((x) => x - lse);
}

test('k3 is never negative, also where k1 is; both are 0 when the policies agree', () => {
  for (const [lp, lr] of [[-1, -0.5], [-0.5, -1], [-3, -3], [-1e-9, -2e-9], [-20, -0.01]] as const) {
    assert.ok(k3(lp, lr) >= 0, `k3(${lp}, ${lr}) = ${k3(lp, lr)}`);
  }
  assert.ok(k1(-1, -0.5) < 0);
  assert.equal(k1(-2, -2), 0);
  assert.equal(k3(-2, -2), 0);
  // expm1 keeps tiny differences exact: k3 ≈ (log r)²/2
  const d = 1e-7;
  assert.ok(Math.abs(k3(-1, -1 + d) - (d * d) / 2) < 1e-20);
});

test('k1 and k3 match the exact KL on a small vocabulary (samples from π)', () => {
  const logp = logSoftmax([2, 1, 0.5, -1, 0]);
  const logq = logSoftmax([1, 1.5, 0, 0, -0.5]);
  const exact = exactKl(logp, logq);
  const p = logp.map(Math.exp);
  const rng = new Rng(7);
  const N = 200_000;
  let s1 = 0;
  let s3 = 0;
  for (let i = 0; i < N; i++) {
    let u = rng.next();
    let a = 0;
    while (a < p.length - 1 && u >= p[a]!) u -= p[a++]!;
    s1 += k1(logp[a]!, logq[a]!);
    s3 += k3(logp[a]!, logq[a]!);
  }
  assert.ok(exact > 0.1, `the two distributions differ (KL ${exact})`);
  assert.ok(Math.abs(s1 / N - exact) < 0.01, `k1 mean ${s1 / N} vs exact ${exact}`);
  assert.ok(Math.abs(s3 / N - exact) < 0.01, `k3 mean ${s3 / N} vs exact ${exact}`);
});

test('summarizeKl: per-response sums averaged over responses, and per-token means', () => {
  const s = summarizeKl([
    { logprobs: [-1, -1], refLogprobs: [-2, -1] },
    { logprobs: [-3], refLogprobs: [-2] },
  ]);
  assert.equal(s.k1, (1 + 0 + -1) / 2);
  assert.equal(s.k1PerToken, 0);
  assert.ok(s.k3 > 0);
});

test('the adaptive KL controller raises β above the target, lowers it below, clipped at ±20% per horizon', () => {
  const up = new AdaptiveKlController(0.1, 6, 10_000);
  assert.ok(up.update(12, 256) > 0.1);
  const down = new AdaptiveKlController(0.1, 6, 10_000);
  assert.ok(down.update(3, 256) < 0.1);
  const same = new AdaptiveKlController(0.1, 6, 10_000);
  assert.equal(same.update(6, 256), 0.1);
  // a huge KL is clipped to +20%: β·(1 + 0.2·n/horizon)
  const clipped = new AdaptiveKlController(0.1, 6, 100);
  assert.ok(Math.abs(clipped.update(1e6, 100) - 0.1 * 1.2) < 1e-15);
  assert.equal(new FixedKlController(0.05).update(), 0.05);
  assert.throws(() => new AdaptiveKlController(0.1, 6, 100).update(Number.NaN, 1), /finite/);
});

test('best-of-n KL: log n − (n − 1)/n', () => {
  assert.equal(bestOfNKl(1), 0);
  assert.ok(Math.abs(bestOfNKl(2) - (Math.log(2) - 0.5)) < 1e-15);
  assert.ok(bestOfNKl(64) > bestOfNKl(16));
  assert.throws(() => bestOfNKl(0), /n ≥ 1/);
});
