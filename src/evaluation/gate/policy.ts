// Declarative promotion-gate policies on the rule engine. A policy is a list of rules,
// each reading one metric of the catalog and comparing one figure of it (the value or a
// CI bound) with one threshold:
//
//   name: default
//   checkpointChoice: { metric: extrinsic.correct, direction: higher }
//   rules:
//     - metric: extrinsic.correct.delta
//       use: lower          # the CI's lower bound
//       min: -0.02          # ≥ ; also max (≤), above (>), below (<), equals (a yes/no fact)
//
// It is validated once at load: zod for the shape (unknown keys are errors), then each
// rule against the catalog — an unknown metric (with the closest known name), a
// threshold of the wrong kind or outside the metric's range, a rule with no threshold
// or two, a duplicated rule name — every problem named by its path, e.g.
// "gate.rules[2].metric: unknown metric …". The evaluator stores each decision with the
// metrics it read, so a new policy can be replayed over past decisions (dryRunGatePolicy).

import { z } from 'zod';
import type { EvalChoice } from '../divergence/index.js';
import { closestName, describeZodIssues, formatConfigPath } from './config-errors.js';
import type { GateMetricCatalog } from './metrics.js';
import { type Comparator, type GateRule, type GateVerdict, type MetricRecord, type RuleDecision, type Statistic, evaluateRules } from './rule-engine.js';

const THRESHOLD_KEYS = { min: '>=', max: '<=', above: '>', below: '<', equals: '==' } as const satisfies Record<string, Comparator>;
type ThresholdKey = keyof typeof THRESHOLD_KEYS;

const ruleSchema = z.strictObject({
  /** the rule's name in decisions; default `<metric>[.<use>].<threshold key>` */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'letters, digits and _ . : - only').optional(),
  metric: z.string().min(1),
  use: z.enum(['value', 'lower', 'upper']).default('value'),
  min: z.number().optional(),
  max: z.number().optional(),
  above: z.number().optional(),
  below: z.number().optional(),
  equals: z.boolean().optional(),
  /** why the rule exists, shown next to its result */
  why: z.string().optional(),
});

export const gatePolicySchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'must be lower case (a–z, 0–9, _ and -), starting with a letter'),
  description: z.string().optional(),
  /** the eval metric the 1-SE rule chooses the run's checkpoint by */
  checkpointChoice: z.strictObject({
    metric: z.string().min(1),
    direction: z.enum(['higher', 'lower']).default('higher'),
  }).optional(),
  rules: z.array(ruleSchema).min(1, 'a gate without rules would pass every candidate'),
});

export interface PolicyRule extends GateRule {
  why?: string;
}

export interface GatePolicy {
  name: string;
  description?: string;
  checkpointChoice?: { metric: string; direction: 'higher' | 'lower' };
  rules: PolicyRule[];
}

export class GatePolicyError extends Error {
  readonly retriable = false;
  readonly code = 'gate_policy';
  constructor(readonly problems: string[]) {
    super(`invalid gate policy:\n  ${problems.join('\n  ')}`);
    this.name = 'GatePolicyError';
  }
}

const fmt = (x: number): string => (Number.isFinite(x) ? String(x) : x > 0 ? '∞' : '−∞');

/**
 * Validates a policy (already parsed from JSON or YAML) against the metric catalog.
 * `at` is where it sits in the configuration, for the error paths.
 */
export function parseGatePolicy(input: unknown, catalog: GateMetricCatalog, at = 'gate'): GatePolicy {
  const parsed = gatePolicySchema.safeParse(input);
  if (!parsed.success) throw new GatePolicyError(describeZodIssues(gatePolicySchema, parsed.error.issues, [at], 'key'));
  const problems: string[] = [];
  const known = [...catalog.keys()];
  const names = new Set<string>();
  const rules: PolicyRule[] = [];
  parsed.data.rules.forEach((r, i) => {
    const path = (key: string): string => formatConfigPath([at, 'rules', i, key]);
    const where = formatConfigPath([at, 'rules', i]);
    const set = (Object.keys(THRESHOLD_KEYS) as ThresholdKey[]).filter((k) => r[k] !== undefined);
    if (set.length !== 1) {
      problems.push(set.length === 0
        ? `${where}: sets no threshold (one of ${Object.keys(THRESHOLD_KEYS).join(', ')})`
        : `${where}: sets ${set.join(' and ')}; one rule compares with one threshold — write one rule for each`);
      return;
    }
    const key = set[0]!;
    const threshold = r[key]!;
    const spec = catalog.get(r.metric);
    if (!spec) {
      const near = closestName(r.metric, known);
      problems.push(`${path('metric')}: unknown metric "${r.metric}"${near ? ` (did you mean "${near}"?)` : ''}`);
      return;
    }
    if (spec.kind === 'boolean' && key !== 'equals') problems.push(`${path(key)}: ${r.metric} is a yes/no fact; compare it with equals: true|false`);
    if (spec.kind !== 'boolean' && key === 'equals') problems.push(`${path('equals')}: ${r.metric} is a number; compare it with min, max, above or below`);
    if (spec.kind !== 'estimate' && r.use !== 'value') problems.push(`${path('use')}: ${r.metric} has no confidence interval; only use: value applies`);
    if (spec.range && typeof threshold === 'number' && (threshold < spec.range[0] || threshold > spec.range[1])) {
      problems.push(`${path(key)}: ${threshold} is outside the range of ${r.metric}, [${fmt(spec.range[0])}, ${fmt(spec.range[1])}]`);
    }
    const name = r.name ?? [r.metric, ...(r.use === 'value' ? [] : [r.use]), key].join('.');
    if (names.has(name)) problems.push(`${r.name ? path('name') : where}: rule name "${name}" is used twice; give one of them a name`);
    names.add(name);
    rules.push({ rule: name, metric: r.metric, statistic: r.use as Statistic, comparator: THRESHOLD_KEYS[key], threshold, ...(r.why ? { why: r.why } : {}) });
  });
  const choice = parsed.data.checkpointChoice;
  if (choice) {
    const spec = catalog.get(choice.metric);
    if (!spec || spec.kind !== 'estimate' || choice.metric.endsWith('.delta')) {
      const near = closestName(choice.metric, known.filter((k) => catalog.get(k)!.kind === 'estimate' && !k.endsWith('.delta')));
      problems.push(`${formatConfigPath([at, 'checkpointChoice', 'metric'])}: "${choice.metric}" is not an eval metric of a suite${near ? ` (did you mean "${near}"?)` : ''}`);
    }
  }
  if (problems.length > 0) throw new GatePolicyError(problems);
  return {
    name: parsed.data.name,
    ...(parsed.data.description ? { description: parsed.data.description } : {}),
    ...(choice ? { checkpointChoice: choice } : {}),
    rules,
  };
}

export interface GateDecisionRecord extends RuleDecision {
  policy: string;
  /** the candidate judged (a model version or checkpoint id) */
  candidate: string;
  /** the checkpoint the eval chose by the 1-SE rule, when the candidate came from a run */
  chosenCheckpoint: EvalChoice | null;
  /** the metrics the rules read, kept so that another policy can be replayed on them */
  inputs: MetricRecord;
}

export interface GateInput {
  candidate: string;
  metrics: MetricRecord;
  chosenCheckpoint?: EvalChoice | null;
}

/** The policy's verdict on one candidate, recording every rule's value, threshold and result. */
export function decideGate(policy: GatePolicy, input: GateInput): GateDecisionRecord {
  const decision = evaluateRules(policy.rules, input.metrics);
  return { policy: policy.name, candidate: input.candidate, chosenCheckpoint: input.chosenCheckpoint ?? null, inputs: input.metrics, ...decision };
}

export interface VerdictFlip {
  candidate: string;
  before: GateVerdict;
  after: GateVerdict;
  /** rules of the new policy that fail */
  failing: string[];
  /** metrics the new policy needs and the stored inputs lack */
  missing: string[];
}

export interface DryRun {
  policy: string;
  replayed: number;
  flips: VerdictFlip[];
  unchanged: number;
}

/** Replays `policy` over past decisions' stored inputs and lists the verdicts that would change. Decides nothing. */
export function dryRunGatePolicy(policy: GatePolicy, past: readonly Pick<GateDecisionRecord, 'candidate' | 'verdict' | 'inputs' | 'chosenCheckpoint'>[]): DryRun {
  const flips: VerdictFlip[] = [];
  for (const old of past) {
    const now = decideGate(policy, { candidate: old.candidate, metrics: old.inputs, chosenCheckpoint: old.chosenCheckpoint });
    if (now.verdict === old.verdict) continue;
    flips.push({
      candidate: old.candidate,
      before: old.verdict,
      after: now.verdict,
      failing: now.rules.filter((r) => r.result === 'fail').map((r) => r.rule),
      missing: now.missing,
    });
  }
  return { policy: policy.name, replayed: past.length, flips, unchanged: past.length - flips.length };
}

/** A candidate with a known outcome (in the reference scenario: gold utility on a hidden prompt set the gate never sees). */
export interface LabelledCandidate extends GateInput {
  label: 'good' | 'harmful';
}

export interface PolicyConfusion {
  policy: string;
  /** candidate → verdict */
  verdicts: Record<string, GateVerdict>;
  harmful: number;
  good: number;
  /** harmful candidates not promoted (fail or needs_review) ÷ harmful candidates; null without any */
  harmfulBlocked: number | null;
  /** good candidates not promoted ÷ good candidates; null without any */
  goodBlocked: number | null;
}

/**
 * Several policies on the same labelled candidates: what each promotes and blocks. Only
 * `pass` promotes, so `needs_review` counts as blocked — a human decides, not the gate.
 */
export function gateConfusion(policies: readonly GatePolicy[], candidates: readonly LabelledCandidate[]): PolicyConfusion[] {
  return policies.map((policy) => {
    const verdicts: Record<string, GateVerdict> = {};
    let harmfulBlocked = 0, goodBlocked = 0;
    for (const c of candidates) {
      if (Object.hasOwn(verdicts, c.candidate)) throw new RangeError(`gateConfusion: candidate "${c.candidate}" appears twice`);
      const verdict = decideGate(policy, c).verdict;
      verdicts[c.candidate] = verdict;
      if (verdict !== 'pass' && c.label === 'harmful') harmfulBlocked++;
      if (verdict !== 'pass' && c.label === 'good') goodBlocked++;
    }
    const harmful = candidates.filter((c) => c.label === 'harmful').length;
    const good = candidates.length - harmful;
    return {
      policy: policy.name,
      verdicts,
      harmful,
      good,
      harmfulBlocked: harmful === 0 ? null : harmfulBlocked / harmful,
      goodBlocked: good === 0 ? null : goodBlocked / good,
    };
  });
}
