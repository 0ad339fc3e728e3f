// Every query of a generated dashboard, read back from its JSON, and the
// substitutions Grafana would make for them — so tests can run each query against
// a real Prometheus or PostgreSQL as the dashboard would (variables set to "All").

export interface PanelQuery {
  dashboard: string;
  /** panel title, or `annotation: <name>` */
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
  return out;
}

/** A PromQL panel expression as Grafana sends it with every variable on "All". */
export function promqlAsQueried(expr: string, rateInterval = '1m'): string {
  return expr
    .replace(/\$__rate_interval/g, rateInterval)
    .replace(/\$__interval/g, rateInterval)
    .replace(/\$(instance|role|model_version)\b/g, '.*');
}

/** A SQL panel query with Grafana's PostgreSQL macros expanded for the last `hours`. */
export function sqlAsQueried(sql: string, hours = 1): string {
  const from = `now() - interval '${hours} hours'`;
  return sql
    .replace(/\$__timeFilter\(([^)]+)\)/g, `$1 BETWEEN ${from} AND now()`)
    .replace(/\$__timeFrom\(\)/g, from)
    .replace(/\$__timeTo\(\)/g, 'now()');
}

/** outerloop_* metric names a PromQL expression reads (histogram suffixes stripped). */
export function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(outerloop_[a-z0-9_]+?)(?:_bucket|_count|_sum)?\b(?=[\s{[)])/g)].map((m) => m[1]!);
}
