import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/engine/rng.js';

describe('Rng (xoshiro128**)', () => {
  it('is reproducible from a seed and differs across seeds', () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43);
    const xa = Array.from({ length: 5 }, () => a.nextUint32());
    assert.deepEqual(xa, Array.from({ length: 5 }, () => b.nextUint32()));
    assert.notDeepEqual(xa, Array.from({ length: 5 }, () => c.nextUint32()));
  });

  it('next() is uniform in [0, 1) and normal() has mean 0, variance 1', () => {
    const r = new Rng(7);
    let sum = 0, sumN = 0, sumN2 = 0;
    const n = 100000;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      assert.ok(u >= 0 && u < 1);
      sum += u;
      const z = r.normal();
      sumN += z;
      sumN2 += z * z;
    }
    assert.ok(Math.abs(sum / n - 0.5) < 0.005, `uniform mean ${sum / n}`);
    assert.ok(Math.abs(sumN / n) < 0.015, `normal mean ${sumN / n}`);
    assert.ok(Math.abs(sumN2 / n - 1) < 0.02, `normal variance ${sumN2 / n}`);
  });

  it('nextInt covers [0, n) without bias and rejects bad bounds', () => {
    const r = new Rng(1);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[r.nextInt(6)]++;
    for (const c of counts) assert.ok(Math.abs(c - 10000) < 400, `bucket ${c}`);
    assert.throws(() => r.nextInt(0), RangeError);
    assert.throws(() => new Rng(Number.NaN), RangeError);
  });
});
