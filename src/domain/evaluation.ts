// Evaluation results and gate decisions as they are recorded.

/** A metric with its bootstrap confidence interval. */
export interface MetricWithCI {
  value: number;
  lo: number;
  hi: number;
  n?: number;
}

export const GATE_VERDICTS = ['pass', 'fail'] as const;
export type GateVerdict = (typeof GATE_VERDICTS)[number];

/** One rule the gate evaluated: its value, its threshold and its verdict. */
export interface GateRuleRecord {
  rule: string;
  value: number | null;
  threshold: number | null;
  verdict: 'pass' | 'fail' | 'skip';
  detail?: string;
}
