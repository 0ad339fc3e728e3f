import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertModelTransition,
  canTransitionModel,
  IllegalModelTransitionError,
  MODEL_STATUSES,
  validateNewModelVersion,
  type ModelStatus,
} from '../../../src/domain/models.js';

const LEGAL: Array<[ModelStatus, ModelStatus]> = [
  ['candidate', 'canary'],
  ['candidate', 'rejected'],
  ['canary', 'production'],
  ['canary', 'rejected'],
  ['production', 'retired'],
];

describe('model status transitions', () => {
  it('allows exactly candidate → canary → production → retired, and rejection of a candidate or canary', () => {
    const allowed: string[] = [];
    for (const from of MODEL_STATUSES) for (const to of MODEL_STATUSES) if (canTransitionModel(from, to)) allowed.push(`${from}→${to}`);
    assert.deepEqual(allowed.sort(), LEGAL.map(([f, t]) => `${f}→${t}`).sort());
  });

  it('refuses skipping the canary, reviving a retired or rejected model, and standing still', () => {
    for (const [from, to] of [
      ['candidate', 'production'],
      ['retired', 'production'],
      ['rejected', 'canary'],
      ['production', 'canary'],
      ['production', 'production'],
    ] as Array<[ModelStatus, ModelStatus]>) {
      assert.throws(() => assertModelTransition('policy-7', from, to), (err: unknown) => {
        assert.ok(err instanceof IllegalModelTransitionError);
        assert.equal(err.code, 'illegal_model_transition');
        assert.equal(err.retriable, false);
        assert.equal(err.from, from);
        assert.equal(err.to, to);
        assert.match(err.message, new RegExp(`policy-7: cannot go from ${from} to ${to}`));
        return true;
      });
    }
  });

  it('says what is allowed instead, and that final states are final', () => {
    assert.throws(() => assertModelTransition('m', 'candidate', 'production'), /only canary or rejected/);
    assert.throws(() => assertModelTransition('m', 'retired', 'production'), /nothing — it is final/);
  });
});

describe('registering a model version', () => {
  const ok = { id: 'policy-1', kind: 'policy' as const, artifactPath: 'models/p1', sha256: 'a'.repeat(64) };

  it('accepts a candidate (the default) or a production base model', () => {
    validateNewModelVersion(ok);
    validateNewModelVersion({ ...ok, status: 'production' });
  });

  it('refuses other initial statuses, unknown kinds and malformed hashes, naming the field', () => {
    assert.throws(() => validateNewModelVersion({ ...ok, status: 'canary' }), /status: .*not canary/);
    assert.throws(() => validateNewModelVersion({ ...ok, kind: 'value' as 'policy' }), /kind: "value"/);
    assert.throws(() => validateNewModelVersion({ ...ok, sha256: 'xyz' }), /sha256/);
    assert.throws(() => validateNewModelVersion({ ...ok, artifactPath: '' }), /artifactPath/);
  });
});
