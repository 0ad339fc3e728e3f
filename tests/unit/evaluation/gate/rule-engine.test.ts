import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type GateRule, evaluateRules } from '../../../../src/evaluation/gate/index.js';
import type { Estimate } from '../../../../src/evaluation/statistics/index.js';

const est = (value: number, lower: number, upper: number): Estimate => ({ value, lower, upper, se: (upper - lower) / 4, level: 0.95, resamples: 1000 });
const rule = (metric: string, comparator: GateRule['comparator'], threshold: number | boolean, statistic: GateRule['statistic'] = 'value'): GateRule => ({ rule: `${metric} ${statistic} ${comparator}`, metric, statistic, comparator, threshold });

describe('rule engine', () => {
  it('compares the chosen figure of an estimate, strictly or not', () => {
    const d = evaluateRules([rule('a', '>=', 0, 'lower'), rule('a', '>', 0.1), rule('a', '<', 0.3, 'upper'), rule('b', '<=', 2), rule('c', '==', false)], { a: est(0.1, 0, 0.3), b: 2, c: false });
    assert.deepEqual(d.rules.map((r) => [r.value, r.result]), [[0, 'pass'], [0.1, 'fail'], [0.3, 'fail'], [2, 'pass'], [false, 'pass']]);
    assert.equal(d.verdict, 'fail');
    assert.deepEqual(d.rules[0]!.interval, { lower: 0, upper: 0.3, level: 0.95 });
    assert.equal(d.rules[3]!.interval, null);
  });

  it('absent, null, NaN, unavailable or mis-kinded metrics are missing, naming the metric; never a pass', () => {
    const d = evaluateRules(
      [rule('absent', '>=', 0), rule('nul', '>=', 0), rule('nan', '>=', 0, 'lower'), rule('why', '>=', 0), rule('flag', '>=', 0), rule('num', '>=', 0, 'lower'), rule('x', '==', true)],
      { nul: null, nan: est(1, Number.NaN, 2), why: { missing: 'judge RM not trained' }, flag: true, num: 3, x: 1 },
    );
    assert.equal(d.verdict, 'needs_review');
    assert.deepEqual(d.missing, ['absent', 'nul', 'nan', 'why', 'flag', 'num', 'x']);
    assert.ok(d.rules.every((r) => r.result === 'missing' && r.value === null));
    assert.match(d.rules[3]!.reason!, /why is unavailable: judge RM not trained/);
    assert.match(d.rules[5]!.reason!, /plain number without a CI/);
  });

  it('not_applicable states its reason and does not block a pass; inherited keys are not metrics', () => {
    const d = evaluateRules([rule('kl', '<=', 0.8), rule('toString', '>=', 0)], { kl: { notApplicable: 'no peak predicted' } });
    assert.deepEqual(d.rules.map((r) => r.result), ['not_applicable', 'missing']);
    assert.equal(d.rules[0]!.reason, 'no peak predicted');
    assert.equal(evaluateRules([rule('kl', '<=', 0.8)], { kl: { notApplicable: 'n/a' } }).verdict, 'pass');
  });
});
