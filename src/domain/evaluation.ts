// Evaluation results and gate decisions as they are recorded (the `evaluations` and
// `gate_decisions` tables). The evaluator writes one evaluation per candidate: a row per
// (suite, side) sharing one evaluation id, and one gate decision per policy it ran (the
// configured policy and the naive one, side by side on the same evidence).
import type { JsonObject } from './json.js';

/** A metric with its bootstrap confidence interval. */
export interface MetricWithCI {
  value: number;
  lo: number;
  hi: number;
  n?: number;
  /** the interval's level, e.g. 0.95 */
  level?: number;
  /** bootstrap standard error */
  se?: number;
}

export const GATE_VERDICTS = ['pass', 'fail', 'needs_review'] as const;
export type GateVerdict = (typeof GATE_VERDICTS)[number];

/** `skip` is the result rows written before the rule engine had `missing` / `not_applicable`. */
export const GATE_RULE_RESULTS = ['pass', 'fail', 'missing', 'not_applicable', 'skip'] as const;
export type GateRuleResult = (typeof GATE_RULE_RESULTS)[number];

/** One rule the gate evaluated: its value, its threshold and its result. */
export interface GateRuleRecord {
  rule: string;
  /** the metric it read (absent on rows written before it was recorded) */
  metric?: string;
  /** the figure read: `value`, or a CI bound */
  statistic?: 'value' | 'lower' | 'upper';
  comparator?: '>=' | '<=' | '>' | '<' | '==';
  value: number | boolean | null;
  threshold: number | boolean | null;
  interval?: { lower: number; upper: number; level: number } | null;
  verdict: GateRuleResult;
  /** why a metric is missing or not applicable; free text on old rows */
  detail?: string;
}

/** Which side of a comparison an evaluation row describes. */
export const EVALUATION_SIDES = ['candidate', 'incumbent'] as const;
export type EvaluationSide = (typeof EVALUATION_SIDES)[number];

/** One suite's metrics for one side of one evaluation. */
export interface EvaluationRecord {
  id: string;
  /** groups the rows of one evaluation (every suite, both sides) and names its report */
  evaluationId: string | null;
  modelVersionId: string;
  checkpointId: string | null;
  suite: string;
  side: EvaluationSide | null;
  /** the model compared with (the incumbent for a candidate row, and vice versa) */
  comparedWithModelId: string | null;
  /** `<suite>.<metric>` → estimate; on a candidate row also `<suite>.<metric>.delta` */
  metrics: Record<string, MetricWithCI>;
  /** label counts, sampling configuration, timings */
  details: JsonObject | null;
  /** where the report is in the artifact store */
  reportPath: string | null;
  createdAt: Date;
}

/** A stored gate decision: every rule, the verdict, the checkpoint chosen and the metrics read. */
export interface GateDecisionRecordRow {
  id: string;
  loopIterationId: string | null;
  evaluationId: string | null;
  candidateModelId: string;
  policyName: string | null;
  verdict: GateVerdict;
  rules: GateRuleRecord[];
  /** metrics a rule needed and did not get (they make the verdict needs_review) */
  missing: string[] | null;
  chosenCheckpoint: JsonObject | null;
  /** the metric record the rules read, so another policy can be replayed over it */
  inputs: JsonObject | null;
  createdAt: Date;
}
