import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RUN_HEALTH, RunHealth, type StepHealthInput } from '../../../../src/rlhf/ppo/run-health.js';

const healthy = (step: number, over: Partial<StepHealthInput> = {}): StepHealthInput => ({
  step,
  scores: [0.1, 0.5, -0.2, 0.9],
  responseLengths: [10, 12, 9, 11],
  endedWithEos: [true, true, false, true],
  gradNorms: [0.8, 0.7],
  entropy: 2,
  ...over,
});

test('a healthy run raises nothing', () => {
  const h = new RunHealth();
  for (let s = 1; s <= 5; s++) assert.deepEqual(h.check(healthy(s)), { findings: [], stop: null });
});

test('zero reward variance stops the run after its limit of consecutive steps, naming the step', () => {
  const h = new RunHealth();
  h.check(healthy(1));
  let v = h.check(healthy(2, { scores: [0.3, 0.3, 0.3, 0.3] }));
  assert.equal(v.findings[0]!.detector, 'zero_reward_variance');
  assert.equal(v.stop, null);
  h.check(healthy(3)); // a healthy step resets the streak
  for (let s = 4; s < 4 + DEFAULT_RUN_HEALTH.limits.zero_reward_variance; s++) v = h.check(healthy(s, { scores: [1, 1, 1, 1] }));
  assert.match(v.stop ?? '', /^zero_reward_variance at step 8 \(5 in a row/);
});

test('a non-finite or zero gradient norm stops at once; all-truncated, runaway length and entropy collapse are detected', () => {
  const h = new RunHealth();
  h.check(healthy(1));
  assert.match(h.check(healthy(2, { gradNorms: [0.5, Number.NaN] })).stop ?? '', /bad_grad_norm at step 2.*NaN at optimizer step 2/);
  const t = new RunHealth();
  t.check(healthy(1));
  const v = t.check(healthy(2, { endedWithEos: [false, false, false, false], responseLengths: [50, 50, 50, 50], entropy: 0.1 }));
  assert.deepEqual(v.findings.map((f) => f.detector).sort(), ['all_truncated', 'entropy_collapse', 'runaway_length']);
});
