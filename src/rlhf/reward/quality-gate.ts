// The reward-model quality gate: declarative thresholds over the RM evaluation report and
// the hard-pair report. A rejected RM is never used by PPO.
//
// The configuration is validated once at load (zod, strict: a typo is an error, not an
// ignored key), and every error names the rule's path ("rmQualityGate.ece.max: ...").
// It is a policy on the evaluation layer's one rule engine (src/evaluation/gate), the
// same engine as the promotion gate: the verdict stores each rule's value, threshold and
// result; a metric the gate needs but did not get is `missing` and makes the verdict
// `needs_review` — never a silent pass. The one exception is stated, not silent: rules
// that compare with the previous production RM are `not_applicable` when the caller says
// there is no previous RM (the first one).

import { z } from 'zod';
import { describeZodIssues } from '../../evaluation/gate/config-errors.js';
import { type GateRule, type GateVerdict, type MetricValue, type RuleDecision, type RuleOutcome, evaluateRules } from '../../evaluation/gate/rule-engine.js';
import type { Estimate } from '../../evaluation/statistics/index.js';
import type { HardPairReport } from './hard-pairs.js';
import type { RewardModelReport } from './report.js';

const probability = z.number().min(0).max(1);
const correlation = z.number().min(-1).max(1);

export const rmQualityGateSchema = z.strictObject({
  heldOutAccuracy: z.strictObject({
    /** point estimate of held-out pairwise accuracy */
    min: probability.optional(),
    /** lower bound of its bootstrap CI */
    minLower: probability.optional(),
  }).optional(),
  /** ECE of σ(r_c − r_r) on held-out pairs */
  ece: z.strictObject({ max: probability }).optional(),
  /** Spearman of score with response length (Singhal et al.) */
  lengthCorrelation: z.strictObject({ max: correlation }).optional(),
  /** share of held-out pairs ordered the same way as the previous production RM */
  agreementWithPrevious: z.strictObject({ min: probability }).optional(),
  hardPairs: z.strictObject({
    /** accuracy on style-perturbed hard pairs */
    minAccuracy: probability.optional(),
    /** hard-pair accuracy minus the previous RM's on the same pairs: 0 = must not lose */
    minDeltaVsPrevious: correlation.optional(),
  }).optional(),
});
export type RmQualityGateConfig = z.infer<typeof rmQualityGateSchema>;

export class RmQualityGateConfigError extends Error {
  readonly retriable = false;
  readonly code = 'rm_quality_gate_config';
  constructor(readonly problems: string[]) {
    super(`invalid RM quality gate:\n  ${problems.join('\n  ')}`);
    this.name = 'RmQualityGateConfigError';
  }
}

/** Validates a gate configuration; `at` is where it sits in the configuration, for the error paths. */
export function parseRmQualityGate(input: unknown, at = 'rmQualityGate'): RmQualityGateConfig {
  const parsed = rmQualityGateSchema.safeParse(input);
  if (!parsed.success) throw new RmQualityGateConfigError(describeZodIssues(rmQualityGateSchema, parsed.error.issues, [at], 'rule'));
  if (rmGateRules(parsed.data).length === 0) throw new RmQualityGateConfigError([`${at}: sets no threshold; a gate without rules would pass every RM`]);
  return parsed.data;
}

/** What the gate sees. `'no_previous'`: there is no previous production RM to compare with. */
export interface RmGateMetrics {
  heldOutAccuracy?: Estimate | null;
  ece?: Estimate | null;
  lengthCorrelation?: Estimate | null;
  agreementWithPrevious?: Estimate | null | 'no_previous';
  hardPairAccuracy?: Estimate | null;
  hardPairDeltaVsPrevious?: Estimate | null | 'no_previous';
}

/** The gate's inputs from the two reports. `hasPrevious`: whether a previous production RM exists. */
export function rmGateMetrics(report: RewardModelReport | null, hardPairs: HardPairReport | null, hasPrevious: boolean): RmGateMetrics {
  return {
    heldOutAccuracy: report?.accuracy ?? null,
    ece: report?.ece ?? null,
    lengthCorrelation: report?.length.scoreLengthSpearman ?? null,
    agreementWithPrevious: hasPrevious ? report?.agreementWithPrevious ?? null : 'no_previous',
    hardPairAccuracy: hardPairs?.accuracy ?? null,
    hardPairDeltaVsPrevious: hasPrevious ? hardPairs?.deltaVsPrevious ?? null : 'no_previous',
  };
}

interface RuleDefinition {
  rule: string;
  metric: keyof RmGateMetrics;
  statistic: 'value' | 'lower';
  comparator: '>=' | '<=';
  threshold: (config: RmQualityGateConfig) => number | undefined;
}

const RULES: readonly RuleDefinition[] = [
  { rule: 'heldOutAccuracy.min', metric: 'heldOutAccuracy', statistic: 'value', comparator: '>=', threshold: (c) => c.heldOutAccuracy?.min },
  { rule: 'heldOutAccuracy.minLower', metric: 'heldOutAccuracy', statistic: 'lower', comparator: '>=', threshold: (c) => c.heldOutAccuracy?.minLower },
  { rule: 'ece.max', metric: 'ece', statistic: 'value', comparator: '<=', threshold: (c) => c.ece?.max },
  { rule: 'lengthCorrelation.max', metric: 'lengthCorrelation', statistic: 'value', comparator: '<=', threshold: (c) => c.lengthCorrelation?.max },
  { rule: 'agreementWithPrevious.min', metric: 'agreementWithPrevious', statistic: 'value', comparator: '>=', threshold: (c) => c.agreementWithPrevious?.min },
  { rule: 'hardPairs.minAccuracy', metric: 'hardPairAccuracy', statistic: 'value', comparator: '>=', threshold: (c) => c.hardPairs?.minAccuracy },
  { rule: 'hardPairs.minDeltaVsPrevious', metric: 'hardPairDeltaVsPrevious', statistic: 'value', comparator: '>=', threshold: (c) => c.hardPairs?.minDeltaVsPrevious },
];

/** The configured thresholds as rules of the evaluation layer's rule engine. */
export function rmGateRules(config: RmQualityGateConfig): GateRule[] {
  return RULES.flatMap(({ threshold, ...rule }) => {
    const t = threshold(config);
    return t === undefined ? [] : [{ ...rule, threshold: t }];
  });
}

export type { RuleResult } from '../../evaluation/gate/rule-engine.js';
export type RmGateRuleOutcome = RuleOutcome;
export type RmGateVerdict = GateVerdict;
export interface RmGateDecision extends RuleDecision {
  /** metrics a configured rule needed and did not get */
  missing: (keyof RmGateMetrics)[];
}

const NO_PREVIOUS = { notApplicable: 'there is no previous production reward model to compare with' };

/** `fail` if any rule fails; else `needs_review` if any metric is missing; else `pass`. */
export function decideRmQualityGate(config: RmQualityGateConfig, metrics: RmGateMetrics): RmGateDecision {
  const values: Record<string, MetricValue> = {};
  for (const [name, m] of Object.entries(metrics)) values[name] = m === 'no_previous' ? NO_PREVIOUS : m;
  return evaluateRules(rmGateRules(config), values) as RmGateDecision;
}
