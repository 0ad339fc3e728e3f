// KvCache on its own: what the decode graph reads (keys, values, mask as (n, NH, P, HS)
// and (n, P) prefixes) survives stride changes and slot moves position by position.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KvCache, MASK_IGNORE } from '../../../../src/engine/runtime/kv-cache.js';

const L = 2, NH = 2, HS = 3, S = 3, CAPACITY = 80;
/** A distinct value for (layer, row, head, position, d), and its negation for values. */
const key = (l: number, row: number, h: number, t: number, d: number): number => 1 + l * 1e5 + row * 1e4 + h * 1e3 + t * 10 + d;

/** Present K/V of a prefill of `rows.length` rows at padded length T (B, NH, T, HS) per layer. */
function present(rowIds: number[], T: number): { k: Float32Array[]; v: Float32Array[] } {
  const k: Float32Array[] = [], v: Float32Array[] = [];
  for (let l = 0; l < L; l++) {
    const pk = new Float32Array(rowIds.length * NH * T * HS), pv = new Float32Array(pk.length);
    rowIds.forEach((row, b) => {
      for (let h = 0; h < NH; h++) for (let t = 0; t < T; t++) for (let d = 0; d < HS; d++) {
        pk[((b * NH + h) * T + t) * HS + d] = key(l, row, h, t, d);
        pv[((b * NH + h) * T + t) * HS + d] = -key(l, row, h, t, d);
      }
    });
    k.push(pk);
    v.push(pv);
  }
  return { k, v };
}

/** Checks slot i holds row rowIds[i]'s positions [0, lengths[i]) and a mask unmasking exactly those. */
function assertHolds(cache: KvCache, rows: Array<{ id: number; length: number }>): void {
  const P = cache.stride;
  rows.forEach(({ id, length }, slot) => {
    for (let l = 0; l < L; l++) for (let h = 0; h < NH; h++) for (let t = 0; t < length; t++) for (let d = 0; d < HS; d++) {
      const at = ((slot * NH + h) * P + t) * HS + d;
      assert.equal(cache.keys[l]![at], key(l, id, h, t, d), `key l${l} slot ${slot} h${h} t${t}`);
      assert.equal(cache.values[l]![at], -key(l, id, h, t, d), `value l${l} slot ${slot} h${h} t${t}`);
    }
    for (let t = 0; t < P; t++) assert.equal(cache.mask[slot * P + t], t < length ? 0 : MASK_IGNORE, `mask slot ${slot} t${t}`);
  });
}

describe('KvCache', () => {
  it('stride buckets: 16, 32, then multiples of 32, capped at the capacity', () => {
    const cache = new KvCache(L, NH, HS, S, CAPACITY);
    assert.deepEqual([1, 16, 17, 32, 33, 64, 65, 80].map((n) => cache.strideFor(n)), [16, 16, 32, 32, 64, 64, 80, 80]);
    assert.equal(cache.stride, 16);
  });

  it('keeps every row intact through prompt writes, decode steps, stride growth and shrink, and slot moves', () => {
    const cache = new KvCache(L, NH, HS, S, CAPACITY);
    const rows = [{ id: 0, length: 0 }, { id: 1, length: 0 }, { id: 2, length: 0 }];
    const lengths = [5, 14, 9];
    const T = 14;
    cache.ensureStride(Math.max(...lengths) + 1, true, []);
    const p = present([0, 1, 2], T);
    rows.forEach((r, slot) => {
      cache.writePrompt(slot, p.k, p.v, slot, T, lengths[slot]!);
      r.length = lengths[slot]!;
    });
    assertHolds(cache, rows);
    // decode steps until row 1 crosses 16 and then 32 positions: the stride grows twice
    for (let step = 0; step < 20; step++) {
      cache.ensureStride(Math.max(...rows.map((r) => r.length)) + 1, false, rows);
      const newK: Float32Array[] = [], newV: Float32Array[] = [];
      for (let l = 0; l < L; l++) {
        const nk = new Float32Array(rows.length * NH * HS), nv = new Float32Array(nk.length);
        rows.forEach((r, i) => { for (let h = 0; h < NH; h++) for (let d = 0; d < HS; d++) { nk[(i * NH + h) * HS + d] = key(l, r.id, h, r.length, d); nv[(i * NH + h) * HS + d] = -key(l, r.id, h, r.length, d); } });
        newK.push(nk);
        newV.push(nv);
      }
      cache.appendStep(newK, newV, rows);
      for (const r of rows) r.length++;
    }
    assert.equal(cache.stride, 64);
    assertHolds(cache, rows);
    // row 1 (the longest) leaves: the last row moves into its slot, and the stride shrinks
    cache.moveSlot(2, 1);
    rows.splice(1, 1, rows[2]!);
    rows.pop();
    cache.ensureStride(Math.max(...rows.map((r) => r.length)) + 1, false, rows);
    assert.equal(cache.stride, 32);
    assertHolds(cache, rows);
  });
});
