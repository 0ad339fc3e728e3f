import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { combineEnsemble, ensembleObjective, ensembleObjectiveSchema, memberSpread } from '../../../../src/rlhf/reward/ensemble.js';

describe('reward ensemble objectives (Coste et al. 2023)', () => {
  // members score one response 1, 2, 6: mean 3, population variance (4 + 1 + 9)/3 = 14/3, min 1
  const members = [1, 2, 6];

  it('mean, UWO (mean − λ·variance) and WCO (min) against hand-computed values', () => {
    assert.equal(ensembleObjective(members, { kind: 'mean' }), 3);
    assert.ok(Math.abs(ensembleObjective(members, { kind: 'uwo', lambda: 0.5 }) - (3 - 7 / 3)) < 1e-12);
    assert.equal(ensembleObjective(members, { kind: 'wco' }), 1);
    const s = memberSpread(members);
    assert.ok(Math.abs(s.std - Math.sqrt(14 / 3)) < 1e-12);
    assert.deepEqual([s.min, s.max], [1, 6]);
  });

  it('UWO and WCO rank a disputed response below an agreed one of the same mean', () => {
    const agreed = [3, 3, 3], disputed = [0, 3, 6];
    assert.equal(ensembleObjective(agreed, { kind: 'mean' }), ensembleObjective(disputed, { kind: 'mean' }));
    assert.ok(ensembleObjective(disputed, { kind: 'uwo', lambda: 0.1 }) < ensembleObjective(agreed, { kind: 'uwo', lambda: 0.1 }));
    assert.ok(ensembleObjective(disputed, { kind: 'wco' }) < ensembleObjective(agreed, { kind: 'wco' }));
  });

  it('a single member: every objective is its score and the std is 0', () => {
    for (const objective of [{ kind: 'mean' }, { kind: 'uwo', lambda: 3 }, { kind: 'wco' }] as const) assert.equal(ensembleObjective([0.7], objective), 0.7);
  });

  it('combines a K × N score matrix per response, with per-member summaries', () => {
    const scores = [[1, 0, 2], [2, 0, 4], [6, 0, 0]]; // response 0 is the example above
    const e = combineEnsemble(scores, { kind: 'uwo', lambda: 0.5 });
    assert.deepEqual(Array.from(e.mean), [3, 0, 2]);
    assert.ok(Math.abs(e.objective[0]! - (3 - 7 / 3)) < 1e-12);
    assert.equal(e.std[1], 0);
    assert.deepEqual(e.members.map((m) => m.mean), [1, 2, 2]);
    assert.equal(e.members[0]!.std, 1); // sample std of 1, 0, 2
  });

  it('refuses ragged members, non-finite scores and a bad λ', () => {
    assert.throws(() => combineEnsemble([[1, 2], [1]], { kind: 'mean' }), /scores\[1\]: has 1 scores, member 0 has 2/);
    assert.throws(() => ensembleObjective([1, Number.NaN], { kind: 'mean' }), /memberScores\[1\]/);
    const bad = ensembleObjectiveSchema.safeParse({ kind: 'uwo', lambda: -1 });
    assert.equal(bad.success, false);
    assert.equal(ensembleObjectiveSchema.safeParse({ kind: 'uwo' }).success, false);
  });
});
