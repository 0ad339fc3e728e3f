import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW } from '../../../../src/engine/optim/adamw.js';
import { clipGlobalNorm, globalNorm } from '../../../../src/engine/optim/clip.js';
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
