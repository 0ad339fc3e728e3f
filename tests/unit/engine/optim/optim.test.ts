import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW } from '../../../../src/engine/optim/adamw.js';
import { clipGlobalNorm, clipScale, globalNorm } from '../../../../src/engine/optim/clip.js';
import { cosineWithWarmup } from '../../../../src/engine/optim/schedule.js';
import type { ParameterSpec } from '../../../../src/engine/gpt/config.js';
import { ShapeError } from '../../../../src/engine/errors.js';

// A matrix (decayed) followed by a bias (not decayed).
const LAYOUT: ParameterSpec[] = [
  { name: 'w', shape: [1, 2], offset: 0, size: 2 },
  { name: 'b', shape: [1], offset: 2, size: 1 },
];

describe('AdamW', () => {
  it('matches Loshchilov & Hutter Algorithm 2 computed by hand for two steps', () => {
    const opt = new AdamW(LAYOUT, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
    const p = Float32Array.of(1, -2, 0.5);
    const lr = 0.01;
    const grads = [Float32Array.of(0.5, -1, 2), Float32Array.of(-0.25, 0.5, 1)];
    // Hand computation in float64.
    const want = [1, -2, 0.5];
    const m = [0, 0, 0], v = [0, 0, 0];
    for (let t = 1; t <= 2; t++) {
      const g = grads[t - 1]!;
      for (let i = 0; i < 3; i++) {
        m[i] = 0.9 * m[i]! + 0.1 * g[i]!;
        v[i] = 0.999 * v[i]! + 0.001 * g[i]! ** 2;
        const mhat = m[i]! / (1 - 0.9 ** t), vhat = v[i]! / (1 - 0.999 ** t);
        const decay = i < 2 ? 0.1 * lr * want[i]! : 0; // decoupled; bias not decayed
        want[i] = want[i]! - lr * mhat / (Math.sqrt(vhat) + 1e-8) - decay;
      }
      opt.update(p, g, lr);
    }
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(p[i]! - want[i]!) < 1e-6, `param ${i}: ${p[i]} vs ${want[i]}`);
    assert.equal(opt.step, 2);
  });

  it('decays matrices toward zero with a zero gradient, leaves biases alone', () => {
    const opt = new AdamW(LAYOUT, { weightDecay: 0.5 });
    const p = Float32Array.of(1, 1, 1);
    opt.update(p, new Float32Array(3), 0.1);
    assert.ok(Math.abs(p[0]! - 0.95) < 1e-7 && Math.abs(p[1]! - 0.95) < 1e-7);
    assert.equal(p[2], 1);
  });

  it('gradScale gives the update of a gradient scaled beforehand (clipping folded in), and leaves the gradient as it was', () => {
    const g = Float32Array.of(0.5, -1, 2);
    const scaled = g.map((x) => x * 0.25);
    const a = Float32Array.of(1, -2, 0.5), b = a.slice();
    const optA = new AdamW(LAYOUT), optB = new AdamW(LAYOUT);
    for (let t = 0; t < 3; t++) {
      optA.update(a, g, 0.01, 0.25);
      optB.update(b, scaled, 0.01);
    }
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-7, `param ${i}: ${a[i]} vs ${b[i]}`);
    assert.deepEqual(Array.from(g), [0.5, -1, 2]);
  });

  it('rejects a gradient blob of the wrong size naming it', () => {
    const opt = new AdamW(LAYOUT);
    assert.throws(() => opt.update(new Float32Array(3), new Float32Array(2), 0.1), (e: unknown) => e instanceof ShapeError && e.tensor === 'gradients');
  });
});

describe('global-norm clipping', () => {
  it('scales to maxNorm keeping the direction, and leaves small gradients untouched', () => {
    const g = Float32Array.of(3, 4);
    assert.equal(clipGlobalNorm(g, 1), 5);
    assert.ok(Math.abs(globalNorm(g) - 1) < 1e-6);
    assert.ok(Math.abs(g[0]! / g[1]! - 0.75) < 1e-6);
    const small = Float32Array.of(0.3, 0.4);
    clipGlobalNorm(small, 1);
    assert.deepEqual(Array.from(small), [Float32Array.of(0.3)[0], Float32Array.of(0.4)[0]]);
  });
});

describe('the clip factor and the norm as the finiteness check', () => {
  it('clipScale is maxNorm/‖g‖ above the threshold, 1 at it, below it and when clipping is off', () => {
    assert.ok(Math.abs(clipScale(5, 1) - 1 / (5 + 1e-6)) < 1e-15);
    assert.equal(clipScale(1, 1), 1); // exactly at the threshold: not clipped
    assert.equal(clipScale(0.5, 1), 1);
    assert.equal(clipScale(5, 0), 1);
  });
  it('globalNorm is non-finite exactly when an element is, and finite at float32\'s largest values', () => {
    const big = new Float32Array(1 << 16).fill(3.4028234663852886e38);
    assert.ok(Number.isFinite(globalNorm(big)));
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const g = Float32Array.of(1, 2, 3);
      g[1] = bad;
      assert.ok(!Number.isFinite(globalNorm(g)), `${bad}`);
    }
  });
});

describe('warm-up + cosine schedule', () => {
  const opts = { maxLr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 110 };
  it('ramps linearly, peaks after warm-up, reaches the midpoint halfway and the floor at the end', () => {
    assert.ok(Math.abs(cosineWithWarmup(0, opts) - 1e-4) < 1e-12);
    assert.ok(Math.abs(cosineWithWarmup(9, opts) - 1e-3) < 1e-12);
    assert.ok(Math.abs(cosineWithWarmup(10, opts) - 1e-3) < 1e-12);
    assert.ok(Math.abs(cosineWithWarmup(60, opts) - 5.5e-4) < 1e-12);
    assert.ok(Math.abs(cosineWithWarmup(110, opts) - 1e-4) < 1e-12);
    assert.ok(Math.abs(cosineWithWarmup(500, opts) - 1e-4) < 1e-12);
  });
});
