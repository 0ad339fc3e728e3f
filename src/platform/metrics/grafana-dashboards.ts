// Grafana dashboards as code. `npm run dashboards` writes deploy/grafana/dashboards/*.json
// from this file; a unit test fails when the committed JSON and this file disagree,
// and when a panel queries a metric no code registers.

interface Panel {
  title: string;
  expr: string[];
  unit?: string;
  legend?: string;
}

interface Dashboard {
  uid: string;
  title: string;
  rows: Array<{ title: string; panels: Panel[] }>;
}

const DASHBOARDS: Dashboard[] = [
  {
    uid: 'outerloop-platform',
    title: 'Outerloop · Platform',
    rows: [
      {
        title: 'HTTP',
        panels: [
          { title: 'Requests/s by route and status', expr: ['sum by (route, status) (rate(outerloop_http_request_duration_seconds_count[1m]))'], unit: 'reqps', legend: '{{route}} {{status}}' },
          { title: 'p99 latency by route', expr: ['histogram_quantile(0.99, sum by (le, route) (rate(outerloop_http_request_duration_seconds_bucket[5m])))'], unit: 's', legend: '{{route}}' },
        ],
      },
      {
        title: 'Processes',
        panels: [
          { title: 'Roles up', expr: ['sum by (role) (outerloop_role_up)'], legend: '{{role}}' },
          { title: 'Resident memory', expr: ['outerloop_process_resident_memory_bytes'], unit: 'bytes', legend: '{{role}}' },
          { title: 'Event-loop lag p99', expr: ['outerloop_nodejs_eventloop_lag_p99_seconds'], unit: 's', legend: '{{role}}' },
        ],
      },
    ],
  },
  {
    uid: 'outerloop-serving',
    title: 'Outerloop · Serving',
    rows: [
      {
        title: 'Traffic',
        panels: [
          { title: 'Chat requests/s by version', expr: ['sum by (model_version, status) (rate(outerloop_gateway_requests_total[1m]))'], unit: 'reqps', legend: '{{model_version}} {{status}}' },
          { title: 'Tokens generated/s by version', expr: ['sum by (model_version) (rate(outerloop_gateway_generated_tokens_total[1m]))'], legend: '{{model_version}}' },
        ],
      },
      {
        title: 'Latency and batching',
        panels: [
          { title: 'Time to first token p50 / p99', expr: ['histogram_quantile(0.5, sum by (le) (rate(outerloop_gateway_time_to_first_token_seconds_bucket[5m])))', 'histogram_quantile(0.99, sum by (le) (rate(outerloop_gateway_time_to_first_token_seconds_bucket[5m])))'], unit: 's' },
          { title: 'Time per output token p50 / p99', expr: ['histogram_quantile(0.5, sum by (le) (rate(outerloop_gateway_time_per_output_token_seconds_bucket[5m])))', 'histogram_quantile(0.99, sum by (le) (rate(outerloop_gateway_time_per_output_token_seconds_bucket[5m])))'], unit: 's' },
          { title: 'Queue depth and batch size', expr: ['outerloop_gateway_queue_depth', 'outerloop_gateway_engine_batch_size', 'outerloop_gateway_active_generations'] },
          { title: 'Completion spool (waiting for the bus) and dropped', expr: ['outerloop_gateway_completion_spool_size', 'increase(outerloop_gateway_completion_spool_dropped_total[5m])'] },
        ],
      },
    ],
  },
  {
    uid: 'outerloop-feedback',
    title: 'Outerloop · Feedback',
    rows: [
      {
        title: 'Ingestion',
        panels: [
          { title: 'Events/s by topic and outcome', expr: ['sum by (topic, outcome) (rate(outerloop_ingest_events_total[1m]))'], legend: '{{topic}} {{outcome}}' },
          { title: 'Feedback accepted/s by type', expr: ['sum by (type) (rate(outerloop_feedback_accepted_total[1m]))'], legend: '{{type}}' },
          { title: 'Feedback ack latency p99', expr: ['histogram_quantile(0.99, sum by (le) (rate(outerloop_feedback_ack_seconds_bucket[5m])))'], unit: 's' },
          { title: 'Consumer lag (age of newest persisted event)', expr: ['max by (topic) (outerloop_ingest_lag_seconds)'], unit: 's', legend: '{{topic}}' },
          { title: 'Dead-lettered events', expr: ['sum by (topic) (increase(outerloop_ingest_dlq_total[5m]))'], legend: '{{topic}}' },
        ],
      },
    ],
  },
];

/** Every metric name the dashboards query (for the test that they exist in code). */
export function queriedMetricNames(): string[] {
  const names = new Set<string>();
  for (const d of DASHBOARDS)
    for (const r of d.rows)
      for (const p of r.panels)
        for (const e of p.expr)
          for (const m of e.matchAll(/\b(outerloop_[a-z0-9_]+?)(?:_bucket|_count|_sum)?\b(?=[\s{[)])/g)) names.add(m[1]!);
  return [...names].sort();
}

export function renderDashboards(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const d of DASHBOARDS) {
    const panels: unknown[] = [];
    let id = 1;
    let y = 0;
    for (const row of d.rows) {
      panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y } });
      y += 1;
      row.panels.forEach((p, i) => {
        panels.push({
          id: id++,
          type: 'timeseries',
          title: p.title,
          datasource: { type: 'prometheus', uid: 'prometheus' },
          gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: y + Math.floor(i / 2) * 8 },
          fieldConfig: { defaults: { unit: p.unit ?? 'short' }, overrides: [] },
          targets: p.expr.map((expr, j) => ({ refId: String.fromCharCode(65 + j), expr, legendFormat: p.legend ?? '' })),
        });
      });
      y += Math.ceil(row.panels.length / 2) * 8;
    }
    out[`${d.uid}.json`] = {
      uid: d.uid,
      title: d.title,
      schemaVersion: 39,
      version: 1,
      editable: false,
      time: { from: 'now-1h', to: 'now' },
      refresh: '10s',
      tags: ['outerloop'],
      panels,
    };
  }
  return out;
}
