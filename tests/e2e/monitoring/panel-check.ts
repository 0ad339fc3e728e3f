// Every panel query of the generated dashboards, asked as Grafana would ask it: the
// PromQL of a panel over a time range from a real Prometheus, the SQL of a panel (and
// of the variables it uses) against the real PostgreSQL. Shared by the monitoring e2e
// (tests/e2e/monitoring/prometheus.test.ts: the data plane and a failed iteration) and
// the loop e2e (tests/e2e/loop: a real iteration, which fills the training, objective
// mismatch and canary panels).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { FROM_GATE_METRICS } from '../../../src/services/evaluator/evaluator-metrics.js';
import { dashboardQueries, metricNames, promqlAsQueried, sqlAsQueried, type PanelQuery } from '../../../deploy/grafana/build/queries.js';
import { repoRoot } from '../support/process.js';
import type { RunningPrometheus } from './support.js';

/** Every query of every committed dashboard (deploy/grafana/dashboards/*.json). */
export function committedDashboardQueries(): PanelQuery[] {
  const dir = join(repoRoot, 'deploy/grafana/dashboards');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => dashboardQueries(JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown));
}

export const panelLabel = (q: PanelQuery) => `${q.dashboard} / ${q.panel} [${q.refId}]`;

/**
 * The PromQL queries that have no number at any step of [start, end] (Unix seconds),
 * as a Grafana time series panel over that range would show them: a gauge set only
 * while a PPO job or a canary runs has data if it was scraped while it did.
 */
export async function promQueriesWithoutData(prom: RunningPrometheus, queries: PanelQuery[], start: number, end: number): Promise<PanelQuery[]> {
  const range = `${Math.max(60, Math.ceil(end - start))}s`;
  // a step of ~100 points, as a panel a few hundred pixels wide; at least the scrape interval
  const step = Math.max(2, Math.ceil((end - start) / 100));
  const empty: PanelQuery[] = [];
  for (const q of queries) {
    // $__rate_interval: 1 minute, as Grafana makes it for a 15 s scrape interval
    const series = await prom.queryRange(promqlAsQueried(q.query, '1m', range), start, end, step);
    // a number, not NaN (histogram_quantile over no increase gives NaN)
    if (!series.some((s) => s.values.some(([, v]) => Number.isFinite(Number(v))))) empty.push(q);
  }
  return empty;
}

/**
 * The SQL queries that return no rows (or count 0) over the last `hours`, with each
 * single-value variable set to the first value its own query lists, as Grafana does.
 * A variable that lists nothing, or a query PostgreSQL rejects, throws.
 */
export async function sqlQueriesWithoutRows(client: pg.Client, queries: PanelQuery[], hours = 1): Promise<PanelQuery[]> {
  const variables: Record<string, string> = {};
  for (const q of queries.filter((x) => x.panel.startsWith('variable: '))) {
    const { rows } = await client.query(sqlAsQueried(q.query));
    if (rows.length === 0) throw new Error(`${panelLabel(q)}: lists no values`);
    variables[q.refId] = String(Object.values(rows[0] as object)[0]);
  }
  const empty: PanelQuery[] = [];
  for (const q of queries) {
    const { rows, fields } = await client.query(sqlAsQueried(q.query, hours, variables)).catch((err: Error) => {
      throw new Error(`${panelLabel(q)}: ${err.message}`);
    });
    // a count panel must count something
    const countsZero = rows.length > 0 && fields.length === 1 && /^count/i.test(q.query.replace(/^SELECT\s+/i, '')) && Number(rows[0][fields[0]!.name]) === 0;
    if (rows.length === 0 || countsZero) empty.push(q);
  }
  return empty;
}

/** Which panels were checked, which had data, and the empty ones with the reason they may be (null: none). */
export interface PanelReport {
  withData: string[];
  empty: Array<{ query: string; reason: string | null }>;
}

export function panelReport(checked: PanelQuery[], empty: PanelQuery[], mayBeEmpty: Record<string, string>): PanelReport {
  const emptySet = new Set(empty);
  return {
    withData: checked.filter((q) => !emptySet.has(q)).map(panelLabel),
    empty: empty.map((q) => ({ query: panelLabel(q), reason: mayBeEmpty[`${q.panel} [${q.refId}]`] ?? mayBeEmpty[q.panel] ?? null })),
  };
}

/** The empty queries nobody explained, one a line ('' when there are none). */
export function unexplainedEmpty(report: PanelReport): string {
  return report.empty.filter((e) => e.reason === null).map((e) => e.query).join('\n');
}

/** The dashboards a loop iteration fills (their PromQL is checked in the loop e2e). */
export const LOOP_DASHBOARDS = ['Outerloop · Loop', 'Outerloop · Training', 'Outerloop · Objective mismatch'];

const CANARY_PANELS = ['Canary traffic share', 'Canary live thumbs-up and win rate', 'Sequential test against its boundary', 'Canary guards: p99 latency', 'Canary guards: 5xx and benign refusals', 'Live pairwise win rate by model version'];

/** What a loop iteration went through, as far as which panels it fills. */
export interface LoopRunFacts {
  /** its state history */
  states: string[];
  /** gate metrics the evaluator found not applicable to the candidate (metric → why), from the configured gate's decision */
  notApplicable: Record<string, string>;
}

/**
 * The panels (or `panel [refId]` queries) a real loop iteration may leave empty, and why.
 * Two reasons only, both read from the iteration, never assumed:
 * - the canary panels, when the gate did not let the candidate into a canary;
 * - a scorecard gauge whose gate metric the evaluator recorded as not applicable (the
 *   gauge is absent rather than stale): e.g. `kl.budgetExceeded` with no KL budget
 *   configured, `kl.fractionOfPredictedPeak` when the Gao fit of the run's checkpoints
 *   rises no more than their noise.
 */
export function loopRunMayBeEmpty(run: LoopRunFacts, queries: PanelQuery[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!run.states.includes('canary')) for (const p of CANARY_PANELS) out[p] = `only while a canary runs; this iteration went ${run.states.join(' → ')}`;
  const gateKeyOf = new Map<string, string>(FROM_GATE_METRICS.map((m) => [m.name, m.key]));
  for (const q of queries) {
    const key = metricNames(q.query).map((n) => gateKeyOf.get(n)).find((k) => k !== undefined);
    if (key && key in run.notApplicable) out[`${q.panel} [${q.refId}]`] = `the evaluator recorded ${key} as not applicable: ${run.notApplicable[key]}`;
  }
  return out;
}

/**
 * Every PromQL query of the loop dashboards over [start, end] and, when `client` is
 * given (distributed: PostgreSQL), every SQL query of every dashboard; each empty one
 * with its reason from `loopRunMayBeEmpty`.
 */
export async function loopPanelReport(prom: RunningPrometheus, client: pg.Client | null, run: LoopRunFacts & { start: number; end: number }): Promise<PanelReport> {
  const all = committedDashboardQueries();
  const promql = all.filter((q) => q.kind === 'prometheus' && LOOP_DASHBOARDS.includes(q.dashboard));
  const sql = client ? all.filter((q) => q.kind === 'sql') : [];
  const empty = [...(await promQueriesWithoutData(prom, promql, run.start, run.end)), ...(client ? await sqlQueriesWithoutRows(client, sql) : [])];
  return panelReport([...promql, ...sql], empty, loopRunMayBeEmpty(run, promql));
}

/** Every checked query had data, or is empty for a reason on the list. */
export function assertEveryPanelHasData(report: PanelReport | undefined): void {
  assert.ok(report, 'no panel report: run with a Prometheus');
  assert.ok(report.withData.length > 0, 'no panel query had data');
  assert.equal(unexplainedEmpty(report), '', 'dashboard queries without data (and no reason on the list)');
}
