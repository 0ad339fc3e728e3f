// Every query of a generated dashboard, read back from its JSON, and the
// substitutions Grafana would make for them — so tests can run each query against
// a real Prometheus or PostgreSQL as the dashboard would (variables set to "All").

export interface PanelQuery {
  dashboard: string;
  /** panel title, `annotation: <name>` or `variable: <name>` */
  panel: string;
  refId: string;
  kind: 'prometheus' | 'sql';
  query: string;
}

interface JsonTarget {
  refId?: string;
  expr?: string;
  rawSql?: string;
}

interface JsonDashboard {
  title: string;
  panels?: Array<{ type: string; title: string; targets?: JsonTarget[] }>;
  annotations?: { list?: Array<{ name: string; target?: JsonTarget }> };
  templating?: { list?: Array<{ name: string; type: string; datasource?: { type?: string }; query?: unknown }> };
}

function toQuery(dashboard: string, panel: string, t: JsonTarget): PanelQuery {
  if (typeof t.expr === 'string') return { dashboard, panel, refId: t.refId ?? '', kind: 'prometheus', query: t.expr };
  if (typeof t.rawSql === 'string') return { dashboard, panel, refId: t.refId ?? '', kind: 'sql', query: t.rawSql };
  throw new Error(`${dashboard} / ${panel}: target ${t.refId ?? '?'} has neither expr nor rawSql`);
}

export function dashboardQueries(json: unknown): PanelQuery[] {
  const d = json as JsonDashboard;
  const out: PanelQuery[] = [];
  for (const p of d.panels ?? []) {
    if (p.type === 'row') continue;
    for (const t of p.targets ?? []) out.push(toQuery(d.title, p.title, t));
  }
  for (const a of d.annotations?.list ?? []) if (a.target) out.push(toQuery(d.title, `annotation: ${a.name}`, a.target));
  // a variable whose values PostgreSQL lists (Prometheus label_values() is not PromQL)
  for (const v of d.templating?.list ?? []) {
    if (v.type === 'query' && v.datasource?.type !== 'prometheus' && typeof v.query === 'string') out.push({ dashboard: d.title, panel: `variable: ${v.name}`, refId: v.name, kind: 'sql', query: v.query });
  }
  return out;
}

/** A PromQL panel expression as Grafana sends it with every variable on "All" (and a dashboard range of `range`). */
export function promqlAsQueried(expr: string, rateInterval = '1m', range = '1h'): string {
  return expr
    .replace(/\$__rate_interval/g, rateInterval)
    .replace(/\$__range/g, range)
    .replace(/\$__interval/g, rateInterval)
    .replace(/\$(instance|role|model_version|kind)\b/g, '.*');
}

/**
 * A SQL panel query with Grafana's PostgreSQL macros expanded for the last `hours`,
 * and each single-value variable (`$eval_metric`) replaced by the value given.
 */
export function sqlAsQueried(sql: string, hours = 1, variables: Record<string, string> = {}): string {
  const from = `now() - interval '${hours} hours'`;
  const unset = [...sql.matchAll(/\$([a-z][a-z_]*)\b/g)].map((m) => m[1]!).filter((v) => !(v in variables));
  if (unset.length > 0) throw new Error(`sqlAsQueried: no value for the variable(s) ${[...new Set(unset)].join(', ')}`);
  return sql
    .replace(/\$([a-z][a-z_]*)\b/g, (_m, v: string) => variables[v]!)
    .replace(/\$__timeFilter\(([^)]+)\)/g, `$1 BETWEEN ${from} AND now()`)
    .replace(/\$__timeFrom\(\)/g, from)
    .replace(/\$__timeTo\(\)/g, 'now()');
}

/** outerloop_* metric names a PromQL expression reads (histogram suffixes stripped). */
export function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(outerloop_[a-z0-9_]+?)(?:_bucket|_count|_sum)?\b(?=[\s{[)])/g)].map((m) => m[1]!);
}
