// The reward-model quality gate: declarative thresholds over the RM evaluation report and
// the hard-pair report. A rejected RM is never used by PPO.
//
// The configuration is validated once at load (zod, strict: a typo is an error, not an
// ignored key), and every error names the rule's path ("rmQualityGate.ece.max: ...").
// The verdict stores each rule's value, threshold and result. A metric the gate needs but
// did not get is `missing` and makes the verdict `needs_review` — never a silent pass. The
// one exception is stated, not silent: rules that compare with the previous production RM
// are `not_applicable` when the caller says there is no previous RM (the first one).

import { z } from 'zod';
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
  if (!parsed.success) {
    throw new RmQualityGateConfigError(parsed.error.issues.map((issue) => {
      const path = [at, ...issue.path.map(String)];
      if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => `${[...path, k].join('.')}: unknown rule (known here: ${knownKeys(issue.path.map(String)).join(', ')})`).join('\n  ');
      return `${path.join('.')}: ${issue.message}`;
    }));
  }
  if (RULES.every((r) => r.threshold(parsed.data) === undefined)) throw new RmQualityGateConfigError([`${at}: sets no threshold; a gate without rules would pass every RM`]);
  return parsed.data;
}

function knownKeys(path: readonly string[]): string[] {
  let schema: z.ZodType = rmQualityGateSchema;
  for (const key of path) {
    const inner: z.ZodType = schema instanceof z.ZodOptional ? schema.unwrap() as z.ZodType : schema;
    schema = (inner as z.ZodObject).shape[key] as z.ZodType;
  }
  const obj = (schema instanceof z.ZodOptional ? schema.unwrap() : schema) as z.ZodObject;
  return Object.keys(obj.shape);
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

type Statistic = 'value' | 'lower';

interface RuleDefinition {
  rule: string;
  metric: keyof RmGateMetrics;
  statistic: Statistic;
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

export type RuleResult = 'pass' | 'fail' | 'missing' | 'not_applicable';

export interface RmGateRuleOutcome {
  rule: string;
  metric: keyof RmGateMetrics;
  /** which figure of the metric's estimate is compared: the point value or the CI's lower bound */
  statistic: Statistic;
  comparator: '>=' | '<=';
  threshold: number;
  /** the compared figure; null when missing or not applicable */
  value: number | null;
  interval: { lower: number; upper: number; level: number } | null;
  result: RuleResult;
  reason?: string;
}

export type RmGateVerdict = 'pass' | 'fail' | 'needs_review';

export interface RmGateDecision {
  verdict: RmGateVerdict;
  rules: RmGateRuleOutcome[];
  /** metrics a configured rule needed and did not get */
  missing: (keyof RmGateMetrics)[];
}

/** `fail` if any rule fails; else `needs_review` if any metric is missing; else `pass`. */
export function decideRmQualityGate(config: RmQualityGateConfig, metrics: RmGateMetrics): RmGateDecision {
  const rules: RmGateRuleOutcome[] = [];
  for (const def of RULES) {
    const threshold = def.threshold(config);
    if (threshold === undefined) continue;
    const base = { rule: def.rule, metric: def.metric, statistic: def.statistic, comparator: def.comparator, threshold };
    const m = metrics[def.metric];
    if (m === 'no_previous') {
      rules.push({ ...base, value: null, interval: null, result: 'not_applicable', reason: 'there is no previous production reward model to compare with' });
      continue;
    }
    const value = m?.[def.statistic];
    if (m === undefined || m === null || value === undefined || !Number.isFinite(value)) {
      rules.push({ ...base, value: null, interval: null, result: 'missing', reason: `metric ${def.metric} was not provided (or is undefined for this data)` });
      continue;
    }
    const ok = def.comparator === '>=' ? value >= threshold : value <= threshold;
    rules.push({ ...base, value, interval: { lower: m.lower, upper: m.upper, level: m.level }, result: ok ? 'pass' : 'fail' });
  }
  const missing = [...new Set(rules.filter((r) => r.result === 'missing').map((r) => r.metric))];
  const verdict: RmGateVerdict = rules.some((r) => r.result === 'fail') ? 'fail' : missing.length > 0 ? 'needs_review' : 'pass';
  return { verdict, rules, missing };
}
