// What a promotion gate may read: the metric catalog. A policy is checked against it at
// load, so an unknown metric (a typo) or a threshold of the wrong kind is refused before
// any candidate is judged. The catalog is the built-in run-level metrics below plus, for
// each configured eval suite, every metric it produces (`<suite>.<metric>`, the
// candidate's own value) and its paired difference from the incumbent (`….delta`).

import { suiteMetricNames } from '../suites/evaluate-samples.js';
import type { EvalSuiteConfig } from '../suites/suite.js';

export type GateMetricKind = 'estimate' | 'number' | 'boolean';

export interface GateMetricSpec {
  name: string;
  /** estimate: a value with a bootstrap CI (a rule may read lower/upper); number: a plain figure; boolean: a yes/no fact */
  kind: GateMetricKind;
  /** the values the metric can take; a threshold outside them is refused at load */
  range?: readonly [number, number];
  description: string;
}

export const BUILTIN_GATE_METRICS: readonly GateMetricSpec[] = [
  { name: 'proxyReward.delta', kind: 'estimate', description: "the RM's mean reward on the eval prompts, candidate − incumbent (paired)" },
  { name: 'lengthControlled.rewardGain', kind: 'estimate', description: 'RM reward gain within length strata (Singhal et al. 2023): the gain length does not explain' },
  { name: 'lengthControlled.regressionGain', kind: 'estimate', description: 'candidate coefficient of reward ~ 1 + length + candidate' },
  { name: 'lengthControlled.lengthShift', kind: 'estimate', description: 'mean response length, candidate − incumbent (in the unit the RM samples were measured in)' },
  { name: 'judge.winRate', kind: 'estimate', range: [0, 1], description: "the held-out judge RM's preference for the candidate over the incumbent" },
  { name: 'judge.lengthControlledWinRate', kind: 'estimate', range: [0, 1], description: 'the judge win rate at equal length (AlpacaEval-LC, Dubois et al. 2024)' },
  { name: 'kl.toReference', kind: 'number', range: [0, Number.POSITIVE_INFINITY], description: "the candidate's KL to this iteration's reference policy (nats per response)" },
  { name: 'kl.fractionOfPredictedPeak', kind: 'number', range: [0, Number.POSITIVE_INFINITY], description: "the candidate's KL ÷ d*², the KL where the Gao et al. fit predicts the eval peak" },
  { name: 'kl.budgetExceeded', kind: 'boolean', description: 'the cumulative KL from the base policy over every promotion exceeds the budget' },
  { name: 'rewardUpEvalDown', kind: 'boolean', description: "the candidate's proxy reward is above the eval peak's while an eval metric is below the peak beyond its CI" },
  { name: 'rmQualityGate.passed', kind: 'boolean', description: 'the reward model the candidate was trained against passed the RM quality gate' },
  { name: 'ensembleDisagreement.growth', kind: 'number', description: "RM ensemble disagreement on the policy's samples, last checkpoint ÷ first − 1" },
  { name: 'ensembleDisagreement.risingBeyondCi', kind: 'boolean', description: "the last checkpoint's disagreement CI lies wholly above the first's" },
];

export type GateMetricCatalog = ReadonlyMap<string, GateMetricSpec>;

/** The catalog for a set of eval suites: the built-in metrics and each suite's metrics and their deltas. */
export function gateMetricCatalog(suites: readonly Pick<EvalSuiteConfig, 'name' | 'scorers'>[] = []): GateMetricCatalog {
  const catalog = new Map(BUILTIN_GATE_METRICS.map((m) => [m.name, m]));
  for (const suite of suites) {
    for (const name of suiteMetricNames(suite)) {
      catalog.set(name, { name, kind: 'estimate', description: `the candidate's ${name} on suite ${suite.name}` });
      catalog.set(`${name}.delta`, { name: `${name}.delta`, kind: 'estimate', description: `${name}, candidate − incumbent (paired bootstrap)` });
    }
  }
  return catalog;
}
