import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ensembleMemberData, packByLength } from '../../../../src/rlhf/reward/batching.js';
import { mulberry32 } from '../../../support/mulberry32.js';

describe('length-bucketed batching', () => {
  // 200 short pairs (~40 tokens) and 20 long ones (~240): fixed 256-token padding would waste most of it
  const u = mulberry32(3);
  const pairs: [number, number][] = Array.from({ length: 220 }, (_, i) => {
    const base = i < 200 ? 30 : 230;
    return [base + Math.floor(u() * 15), base + Math.floor(u() * 15)];
  });

  it('puts every row in exactly one batch, each under the token budget', () => {
    const p = packByLength(pairs, { maxTokens: 2048, seed: 1 });
    const seen = p.batches.flatMap((b) => b.rows).sort((a, b) => a - b);
    assert.deepEqual(seen, pairs.map((_, i) => i));
    for (const b of p.batches) {
      assert.ok(b.rows.length * 2 * b.paddedLength <= 2048);
      assert.equal(b.paddedLength, Math.max(...b.rows.flatMap((r) => pairs[r]!)));
    }
  });

  it('pads far less than a fixed 256-token context', () => {
    const p = packByLength(pairs, { maxTokens: 2048, seed: 1 });
    const fixedPadding = 1 - p.realTokens / (pairs.length * 2 * 256);
    assert.ok(fixedPadding > 0.7, `fixed ${fixedPadding}`);
    assert.ok(p.paddingFraction < 0.15, `packed ${p.paddingFraction}`);
    // no short pair shares a batch with a long one
    for (const b of p.batches) assert.ok(b.rows.every((r) => r < 200) || b.rows.every((r) => r >= 200));
  });

  it('is deterministic for a seed and shuffles batch order across seeds', () => {
    const a = packByLength(pairs, { maxTokens: 2048, seed: 7 });
    assert.deepEqual(a, packByLength(pairs, { maxTokens: 2048, seed: 7 }));
    const b = packByLength(pairs, { maxTokens: 2048, seed: 8 });
    assert.notDeepEqual(a.batches.map((x) => x.rows), b.batches.map((x) => x.rows));
  });

  it('honours maxRows, and single-sequence rows', () => {
    const p = packByLength([5, 5, 5, 5, 5], { maxTokens: 100, seed: 1, maxRows: 2 });
    assert.deepEqual(p.batches.map((b) => b.rows.length).sort(), [1, 2, 2]);
    assert.equal(p.paddingFraction, 0);
  });

  it('refuses a row that cannot fit and a bad length, naming the row', () => {
    assert.throws(() => packByLength([[10, 10], [300, 20]], { maxTokens: 512, seed: 1 }), /rows\[1\]: 2 sequence\(s\) of up to 300 tokens do not fit options\.maxTokens = 512/);
    assert.throws(() => packByLength([[10, 0]], { maxTokens: 512, seed: 1 }), /rows\[0\]\[1\]: a sequence length must be a positive integer/);
  });
});

describe('ensemble member data', () => {
  it('gives each member its own seed and a bootstrap resample of the rows, reproducibly', () => {
    const m = ensembleMemberData(1000, 3, { seed: 42 });
    assert.deepEqual(m, ensembleMemberData(1000, 3, { seed: 42 }));
    assert.equal(new Set(m.map((x) => x.seed)).size, 3);
    for (const member of m) {
      assert.equal(member.rows.length, 1000);
      const distinct = new Set(member.rows).size;
      assert.ok(distinct > 580 && distinct < 680, `distinct ${distinct}`); // 1 − 1/e ≈ 63.2% of rows appear
    }
    assert.notDeepEqual(m[0]!.rows, m[1]!.rows);
    // adding a member leaves the earlier ones unchanged
    assert.deepEqual(ensembleMemberData(1000, 4, { seed: 42 }).slice(0, 3), m);
  });

  it('without bootstrap every member sees every row once', () => {
    const m = ensembleMemberData(5, 2, { seed: 1, bootstrap: false });
    assert.deepEqual(Array.from(m[1]!.rows), [0, 1, 2, 3, 4]);
    assert.notEqual(m[0]!.seed, m[1]!.seed);
  });

  it('resamples whole groups (prompts) together', () => {
    const groups = ['a', 'a', 'a', 'b', 'c', 'c'];
    for (const member of ensembleMemberData(6, 5, { seed: 3, groups })) {
      const rows = Array.from(member.rows);
      const count = (r: number): number => rows.filter((x) => x === r).length;
      assert.ok(count(0) === count(1) && count(1) === count(2), `group a split: ${rows}`);
      assert.equal(count(4), count(5));
    }
    assert.throws(() => ensembleMemberData(6, 1, { seed: 3, groups: ['a'] }), /options\.groups: has 1 entries for 6 rows/);
  });
});
