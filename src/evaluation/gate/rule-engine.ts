// The one rule engine behind every gate (the RM quality gate, the promotion gate, the
// naive gate): a rule compares one figure of one named metric with a threshold, and the
// verdict records every rule's value, threshold, interval and result.
//
// - CI-aware: a rule reads the point `value` or a bound of the metric's bootstrap CI
//   (`lower`, `upper`), so "the extrinsic Δ's lower bound ≥ −0.02" is one rule.
// - Never a silent pass: a metric that is absent, null, NaN or of the wrong kind is
//   `missing` and makes the verdict `needs_review`, naming the metric.
// - Stated exceptions: a metric given as `{ notApplicable: reason }` (e.g. there is no
//   previous RM to compare with) makes its rules `not_applicable`, with the reason.
// - `fail` wins over `needs_review`: a candidate that fails one rule is not promoted,
//   whatever else is missing.

import type { Estimate } from '../statistics/index.js';

/** Which figure of a metric a rule compares: the point estimate or a bound of its CI. */
export type Statistic = 'value' | 'lower' | 'upper';
export type Comparator = '>=' | '<=' | '>' | '<' | '==';

/** A metric that exists but does not apply to this candidate; the reason is recorded. */
export interface NotApplicable {
  notApplicable: string;
}

/** A metric that could not be produced; the reason is recorded and the verdict is needs_review. */
export interface Unavailable {
  missing: string;
}

/** What a gate reads: an estimate with its CI, a plain number, a yes/no fact, or why there is none. */
export type MetricValue = Estimate | number | boolean | NotApplicable | Unavailable | null | undefined;
export type MetricRecord = Readonly<Record<string, MetricValue>>;

export interface GateRule {
  /** the rule's name as configured, e.g. "ece.max" or "rules[2] extrinsic.correct.delta" */
  rule: string;
  metric: string;
  statistic: Statistic;
  comparator: Comparator;
  /** a number for <, ≤, >, ≥; a boolean for == */
  threshold: number | boolean;
}

export type RuleResult = 'pass' | 'fail' | 'missing' | 'not_applicable';
export type GateVerdict = 'pass' | 'fail' | 'needs_review';

export interface RuleOutcome {
  rule: string;
  metric: string;
  statistic: Statistic;
  comparator: Comparator;
  threshold: number | boolean;
  /** the compared figure; null when missing or not applicable */
  value: number | boolean | null;
  interval: { lower: number; upper: number; level: number } | null;
  result: RuleResult;
  reason?: string;
}

export interface RuleDecision {
  verdict: GateVerdict;
  rules: RuleOutcome[];
  /** metrics a rule needed and did not get, in rule order */
  missing: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
export const isEstimate = (v: unknown): v is Estimate => isObject(v) && typeof v.value === 'number' && typeof v.lower === 'number' && typeof v.upper === 'number';
export const isNotApplicable = (v: unknown): v is NotApplicable => isObject(v) && typeof v.notApplicable === 'string';
export const isUnavailable = (v: unknown): v is Unavailable => isObject(v) && typeof v.missing === 'string';

function compare(value: number | boolean, comparator: Comparator, threshold: number | boolean): boolean {
  switch (comparator) {
    case '==': return value === threshold;
    case '>=': return (value as number) >= (threshold as number);
    case '<=': return (value as number) <= (threshold as number);
    case '>': return (value as number) > (threshold as number);
    case '<': return (value as number) < (threshold as number);
  }
}

type Read = { value: number | boolean; interval: RuleOutcome['interval'] } | { missing: string };

/** The figure a rule compares, or why there is none. */
function read(rule: GateRule, m: MetricValue): Read {
  const wantsBoolean = rule.comparator === '==';
  if (m === undefined || m === null) return { missing: `metric ${rule.metric} was not provided` };
  if (isUnavailable(m)) return { missing: `metric ${rule.metric} is unavailable: ${m.missing}` };
  if (typeof m === 'boolean') {
    return wantsBoolean ? { value: m, interval: null } : { missing: `metric ${rule.metric} is a yes/no fact, but the rule compares a number` };
  }
  if (wantsBoolean) return { missing: `metric ${rule.metric} is a number, but the rule expects a yes/no fact` };
  if (typeof m === 'number') {
    if (rule.statistic !== 'value') return { missing: `metric ${rule.metric} is a plain number without a CI; the rule reads its ${rule.statistic} bound` };
    return Number.isFinite(m) ? { value: m, interval: null } : { missing: `metric ${rule.metric} is undefined for this data (${m})` };
  }
  if (!isEstimate(m)) return { missing: `metric ${rule.metric} is not an estimate, number or yes/no fact` };
  const value = m[rule.statistic];
  if (!Number.isFinite(value)) return { missing: `metric ${rule.metric} is undefined for this data (${rule.statistic} = ${value})` };
  return { value, interval: { lower: m.lower, upper: m.upper, level: m.level } };
}

/** Evaluates every rule against the metrics: `fail` if any fails, else `needs_review` if any metric is missing, else `pass`. */
export function evaluateRules(rules: readonly GateRule[], metrics: MetricRecord): RuleDecision {
  const outcomes: RuleOutcome[] = rules.map((rule) => {
    const base = { rule: rule.rule, metric: rule.metric, statistic: rule.statistic, comparator: rule.comparator, threshold: rule.threshold };
    const m = Object.hasOwn(metrics, rule.metric) ? metrics[rule.metric] : undefined;
    if (isNotApplicable(m)) return { ...base, value: null, interval: null, result: 'not_applicable', reason: m.notApplicable };
    const r = read(rule, m);
    if ('missing' in r) return { ...base, value: null, interval: null, result: 'missing', reason: r.missing };
    return { ...base, value: r.value, interval: r.interval, result: compare(r.value, rule.comparator, rule.threshold) ? 'pass' : 'fail' };
  });
  const missing = [...new Set(outcomes.filter((o) => o.result === 'missing').map((o) => o.metric))];
  const verdict: GateVerdict = outcomes.some((o) => o.result === 'fail') ? 'fail' : missing.length > 0 ? 'needs_review' : 'pass';
  return { verdict, rules: outcomes, missing };
}
