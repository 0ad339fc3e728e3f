// The wire contract of jobs (src/platform/messaging/events.ts) and its vocabulary
// (src/domain/jobs.ts): every kind has a parameter schema, bad input names its
// field, and the topics validate what they carry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canTransition, isTerminalJobState, JOB_KINDS, JOB_STATES, type JobKind } from '../../../../src/domain/jobs.js';
import { JobParamsSchemas, validateEvent, validateJobProgress, validateJobSpec, Topic } from '../../../../src/platform/messaging/events.js';

/** the least each kind needs; everything else has a default or is optional */
const MINIMAL: Record<JobKind, unknown> = {
  reward_model: { snapshotId: 'snap-1' },
  ppo: { rewardModelVersion: 'rm-1', steps: 100 },
  dpo: { snapshotId: 'snap-1' },
  rejection_sampling: { rewardModelVersion: 'rm-1', n: 8 },
  best_of_n: { rewardModelVersion: 'rm-1', n: 16 },
  evaluation: { candidate: 'policy-v2', suites: ['facts'] },
};

const now = () => new Date().toISOString();

describe('job kinds and their parameters', () => {
  it('every kind of the vocabulary has a schema, and the job union accepts it', () => {
    assert.deepEqual(Object.keys(JobParamsSchemas).sort(), [...JOB_KINDS].sort());
    for (const kind of JOB_KINDS) {
      const r = validateJobSpec({ kind, params: MINIMAL[kind] });
      assert.ok(r.ok, `${kind}: ${r.ok ? '' : r.reason}`);
      assert.equal(r.value.kind, kind);
    }
  });

  it('applies the defaults the trainer relies on', () => {
    const rm = validateJobSpec({ kind: 'reward_model', params: MINIMAL.reward_model });
    assert.ok(rm.ok);
    assert.deepEqual(rm.value.params, { snapshotId: 'snap-1', seed: 0, ensemble: 1, epochs: 1, margin: false, centering: 0, split: 'train' });
    const ppo = validateJobSpec({ kind: 'ppo', params: MINIMAL.ppo });
    assert.ok(ppo.ok && ppo.value.kind === 'ppo');
    assert.equal(ppo.value.params.objective, 'mean');
    assert.equal(ppo.value.params.basePolicy, undefined, 'absent = the production policy');
  });

  it('rejects bad parameters naming each field: wrong types, out of range, misspelt keys, unknown kinds', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ kind: 'reward_model', params: { snapshotId: '' } }, /params\.snapshotId: /],
      [{ kind: 'reward_model', params: { snapshotId: 's', ensemble: 17 } }, /params\.ensemble: Too big/],
      [{ kind: 'reward_model', params: { snapshotId: 's', seed: 1.5 } }, /params\.seed: /],
      [{ kind: 'reward_model', params: { snapshotId: 's', epoch: 3 } }, /params: Unrecognized key: "epoch"/],
      [{ kind: 'ppo', params: { rewardModelVersion: 'rm', steps: 0 } }, /params\.steps: Too small/],
      [{ kind: 'ppo', params: { rewardModelVersion: 'rm', steps: 10, objective: 'max' } }, /params\.objective: /],
      [{ kind: 'evaluation', params: { candidate: 'p', suites: [] } }, /params\.suites: Too small/],
      [{ kind: 'best_of_n', params: { rewardModelVersion: 'rm' } }, /params\.n: /],
      [{ kind: 'sft', params: {} }, /^kind: /],
      [{ params: {} }, /^kind: /],
    ];
    for (const [value, reason] of cases) {
      const r = validateJobSpec(value);
      assert.equal(r.ok, false, JSON.stringify(value));
      assert.match((r as { reason: string }).reason, reason);
    }
  });
});

describe('job topics', () => {
  it('outerloop.jobs carries wake-ups: a job id and kind, nothing the worker trusts over the row', () => {
    const wake = { v: 1, eventId: 'e1', jobId: 'j1', kind: 'evaluation', createdAt: now() };
    const r = validateEvent(Topic.jobs, wake);
    assert.ok(r.ok);
    assert.equal(r.value.reason, 'enqueued');
    const bad = validateEvent(Topic.jobs, { ...wake, kind: 'sft', jobId: '' });
    assert.equal(bad.ok, false);
    assert.match((bad as { reason: string }).reason, /jobId: .*kind: |kind: .*jobId: /);
  });

  it('outerloop.job-events carries progress and state events, discriminated by type', () => {
    const base = { v: 1, eventId: 'e1', jobId: 'j1', kind: 'reward_model', attempt: 1, createdAt: now() };
    const progress = validateEvent(Topic.jobEvents, { ...base, type: 'progress', step: 10, total: 100, loss: 0.69, metrics: { accuracy: 0.55 }, tokensPerSecond: 5000, etaSeconds: 42 });
    assert.ok(progress.ok && progress.value.type === 'progress');
    assert.equal(progress.value.loss, 0.69);
    const state = validateEvent(Topic.jobEvents, { ...base, type: 'state', state: 'failed', error: 'NaN loss at step 3' });
    assert.ok(state.ok && state.value.type === 'state');
    assert.equal(state.value.state, 'failed');
    for (const [event, reason] of [
      [{ ...base, type: 'progress', step: -1 }, /step: /],
      [{ ...base, type: 'progress', step: 1, loss: 'high' }, /loss: /],
      [{ ...base, type: 'state', state: 'paused' }, /state: /],
      [{ ...base, type: 'log' }, /type: /],
    ] as const) {
      const r = validateEvent(Topic.jobEvents, event);
      assert.equal(r.ok, false, JSON.stringify(event));
      assert.match((r as { reason: string }).reason, reason);
    }
  });

  it('a progress report must be finite: NaN or Infinity is an error naming the field', () => {
    assert.match((validateJobProgress({ step: 1, loss: Number.NaN }) as { reason: string }).reason, /loss: /);
    assert.match((validateJobProgress({ step: 1, metrics: { kl: Number.POSITIVE_INFINITY } }) as { reason: string }).reason, /metrics\.kl: /);
    assert.ok(validateJobProgress({ step: 0 }).ok);
  });
});

describe('job states', () => {
  it('queued → running → succeeded | failed | cancelled; back to queued only from running (a retry); terminal states are final', () => {
    assert.deepEqual([...JOB_STATES], ['queued', 'running', 'succeeded', 'failed', 'cancelled']);
    assert.ok(canTransition('queued', 'running'));
    assert.ok(canTransition('queued', 'cancelled'));
    assert.ok(canTransition('running', 'queued'));
    assert.ok(!canTransition('queued', 'succeeded'));
    for (const end of ['succeeded', 'failed', 'cancelled'] as const) {
      assert.ok(isTerminalJobState(end));
      for (const to of JOB_STATES) assert.ok(!canTransition(end, to), `${end} → ${to}`);
    }
    assert.ok(!isTerminalJobState('running'));
  });
});
