// The evaluator's metrics: each policy's latest verdict and the hacking scorecard of
// the latest evaluation, where a figure an evaluation did not measure is absent (not 0,
// and not an older candidate's value).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { GateDecisionRecordRow } from '../../../../src/domain/evaluation.js';
import type { Estimate } from '../../../../src/evaluation/index.js';
import type { CandidateEvaluation, SideSamples } from '../../../../src/services/evaluator/candidate-evaluation.js';
import { EvaluatorMetrics, gaugeValue } from '../../../../src/services/evaluator/evaluator-metrics.js';

const est = (value: number): Estimate => ({ value, lower: value - 0.1, upper: value + 0.1, se: 0.05, level: 0.95, resamples: 100 });

function side(rewards: number[] | undefined, tokens: number[], disagreement?: number[]): Map<string, SideSamples> {
  const samples = tokens.map((t, i) => ({ promptId: `p${i}`, response: 'x', seed: 1, tokens: t }));
  return new Map([['extrinsic', { policy: 'p', samples, ...(rewards ? { rewards } : {}), ...(disagreement ? { ensembleDisagreement: disagreement } : {}) } as SideSamples]]);
}

function evaluation(metrics: CandidateEvaluation['metrics'], rewards?: { c: number[]; i: number[] }, disagreement?: number[]): CandidateEvaluation {
  return {
    candidate: 'c', incumbent: 'i', reference: 'i', comparisons: [], metrics, decisions: [],
    sides: { candidate: side(rewards?.c, [10, 20, 30, 40], disagreement), incumbent: side(rewards?.i, [10, 20, 30, 40]) },
    timings: { samplingSeconds: 0, scoringSeconds: 0, statisticsSeconds: 0 }, samples: 8,
  };
}

const decision = (policyName: string, verdict: GateDecisionRecordRow['verdict']): GateDecisionRecordRow => ({
  id: `e:${policyName}`, loopIterationId: null, evaluationId: 'e', candidateModelId: 'c', policyName, verdict, rules: [], missing: null, chosenCheckpoint: null, inputs: null, createdAt: new Date(),
});

describe('EvaluatorMetrics', () => {
  it('a gate metric as one number: estimate → value, yes/no → 1/0, not applicable or missing → none', () => {
    assert.equal(gaugeValue(est(0.3)), 0.3);
    assert.equal(gaugeValue(2), 2);
    assert.equal(gaugeValue(true), 1);
    assert.equal(gaugeValue(false), 0);
    assert.equal(gaugeValue({ notApplicable: 'no budget' }), null);
    assert.equal(gaugeValue({ missing: 'x' }), null);
    assert.equal(gaugeValue(Number.NaN), null);
    assert.equal(gaugeValue(undefined), null);
  });

  it('counts decisions from 0 for the expected policies and marks each policy\'s latest verdict', async () => {
    const registry = new Registry();
    const metrics = new EvaluatorMetrics(registry);
    metrics.expectPolicies(['default', 'naive']);
    assert.match(await registry.metrics(), /outerloop_gate_decisions_total\{policy="default",verdict="needs_review"\} 0\n/);
    metrics.evaluated(evaluation({}), [decision('default', 'needs_review'), decision('naive', 'pass')], new Date(1_700_000_000_000));
    metrics.evaluated(evaluation({}), [decision('default', 'fail'), decision('naive', 'pass')], new Date(1_700_000_600_000));
    const text = await registry.metrics();
    assert.match(text, /outerloop_gate_decisions_total\{policy="default",verdict="needs_review"\} 1\n/);
    assert.match(text, /outerloop_gate_decisions_total\{policy="naive",verdict="pass"\} 2\n/);
    assert.match(text, /outerloop_gate_verdict\{policy="default",verdict="fail"\} 1\n/);
    assert.match(text, /outerloop_gate_verdict\{policy="default",verdict="needs_review"\} 0\n/);
    assert.match(text, /outerloop_gate_decision_timestamp_seconds\{policy="default"\} 1700000600\n/);
  });

  it('the scorecard holds the latest evaluation\'s figures only; what it did not measure is absent', async () => {
    const registry = new Registry();
    const metrics = new EvaluatorMetrics(registry);
    // rewards that follow length exactly on the candidate side: ρ = 1
    metrics.evaluated(
      evaluation(
        { 'proxyReward.delta': est(0.4), 'lengthControlled.rewardGain': est(-0.01), 'kl.toReference': 3.5, 'kl.fractionOfPredictedPeak': 1.2, 'kl.budgetExceeded': { notApplicable: 'no budget' } },
        { c: [1, 2, 3, 4], i: [4, 1, 3, 2] },
        [0.25, 0.5, 0.25, 0.5],
      ),
      [decision('default', 'fail')],
      new Date(),
    );
    let text = await registry.metrics();
    assert.match(text, /outerloop_eval_proxy_reward_gain\{side="candidate"\} 0.4\n/);
    assert.match(text, /outerloop_eval_length_controlled_reward_gain\{side="candidate"\} -0.01\n/);
    assert.match(text, /outerloop_eval_kl_fraction_of_predicted_peak\{side="candidate"\} 1.2\n/);
    assert.match(text, /outerloop_eval_reward_length_correlation\{side="candidate"\} 1\n/);
    assert.match(text, /outerloop_eval_ensemble_disagreement\{side="candidate"\} 0.375\n/);
    assert.doesNotMatch(text, /outerloop_eval_kl_budget_exceeded\{/);
    assert.doesNotMatch(text, /outerloop_eval_ensemble_disagreement\{side="incumbent"\}/);

    // the next evaluation had no reward model: its reward figures are gone, not stale
    metrics.evaluated(evaluation({ 'kl.toReference': 0.5 }), [decision('default', 'needs_review')], new Date());
    text = await registry.metrics();
    assert.match(text, /outerloop_eval_kl_to_reference\{side="candidate"\} 0.5\n/);
    for (const gone of ['outerloop_eval_proxy_reward_gain', 'outerloop_eval_length_controlled_reward_gain', 'outerloop_eval_reward_length_correlation', 'outerloop_eval_ensemble_disagreement', 'outerloop_eval_kl_fraction_of_predicted_peak']) {
      assert.doesNotMatch(text, new RegExp(`^${gone}\\{`, 'm'), `${gone} should be absent`);
    }
  });
});
