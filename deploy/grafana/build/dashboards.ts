// Outerloop's Grafana dashboards as code. `npm run dashboards` writes
// deploy/grafana/dashboards/*.json from this file; tests/unit/deploy/dashboards.test.ts
// fails when the committed JSON and this file disagree, and
// tests/e2e/monitoring/prometheus.test.ts runs every query against a real Prometheus
// and PostgreSQL. docs/monitoring.md says what each panel tells the operator.
//
// Lives outside src/: the Foundation SDK is a dev dependency, and nothing the
// server runs imports it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { loopDashboards } from './loop-dashboards.js';
import {
  GREEN,
  instanceVariable,
  labelVariable,
  outerloopDashboard,
  POSTGRES,
  PROBE_ROUTES,
  promQuery,
  RED,
  roleVariable,
  SqlQueryBuilder,
  statPanel,
  tablePanel,
  thresholds,
  timeSeries,
  YELLOW,
} from './panels.js';

const I = 'instance=~"$instance"';
const API = `${I}, route!~"${PROBE_ROUTES}"`;

function platform(): dashboard.DashboardBuilder {
  return outerloopDashboard('outerloop-platform', 'Outerloop · Platform', 'Which roles run where, HTTP traffic and errors on the API, and each process\'s health.')
    .withVariable(roleVariable())
    .withVariable(instanceVariable())
    .withRow(new dashboard.RowBuilder('Roles'))
    .withPanel(
      timeSeries(
        { title: 'Scrape targets up', description: '1 while Prometheus can scrape the instance\'s /metrics; 0 means the process is down or unreachable (alert OuterloopRoleDown).', unit: 'short', thresholds: thresholds(RED, [1, GREEN]) },
        promQuery(`up{${I}}`, '{{instance}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Roles running', description: 'How many processes run each role (outerloop_role_up): one process runs every role in embedded mode, one role per process in distributed mode.', unit: 'short' },
        promQuery(`sum by (outerloop_role) (outerloop_role_up{${I}, outerloop_role=~"$role"})`, '{{outerloop_role}}'),
      ),
    )
    .withRow(new dashboard.RowBuilder('HTTP API (probes excluded)'))
    .withPanel(
      timeSeries(
        { title: 'API requests/s by route and status', description: 'Request rate on every route except /healthz, /readyz and /metrics.', unit: 'reqps' },
        promQuery(`sum by (route, status) (rate(outerloop_http_request_duration_seconds_count{${API}}[$__rate_interval]))`, '{{route}} {{status}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'API 5xx ratio', description: 'Share of API requests answered with a 5xx; above 5% for 5 minutes pages (alert OuterloopHighErrorRate).', unit: 'percentunit', thresholds: thresholds(GREEN, [0.01, YELLOW], [0.05, RED]) },
        promQuery(
          `(sum(rate(outerloop_http_request_duration_seconds_count{${API}, status=~"5.."}[$__rate_interval])) or vector(0)) / sum(rate(outerloop_http_request_duration_seconds_count{${API}}[$__rate_interval]))`,
          '5xx ratio',
        ),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'API latency p99 by route', description: '99th percentile of request duration per route (a streamed chat counts until its last byte).', unit: 's', thresholds: thresholds(GREEN, [1, YELLOW], [5, RED]) },
        promQuery(`histogram_quantile(0.99, sum by (le, route) (rate(outerloop_http_request_duration_seconds_bucket{${API}}[$__rate_interval])))`, '{{route}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Probe responses by route and status', description: '/healthz, /readyz and /metrics answers; a /readyz 503 says a dependency (database, bus, a role\'s own check) is not ready.', unit: 'reqps' },
        promQuery(`sum by (route, status) (rate(outerloop_http_request_duration_seconds_count{${I}, route=~"${PROBE_ROUTES}"}[$__rate_interval]))`, '{{route}} {{status}}'),
      ),
    )
    .withRow(new dashboard.RowBuilder('Processes'))
    .withPanel(
      timeSeries(
        { title: 'CPU', description: 'CPU time per second (1 = one core busy).', unit: 'short' },
        promQuery(`rate(outerloop_process_cpu_seconds_total{${I}}[$__rate_interval])`, '{{instance}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Resident memory', description: 'Resident set size; the engine\'s weights and KV caches live outside the JS heap.', unit: 'bytes' },
        promQuery(`outerloop_process_resident_memory_bytes{${I}}`, '{{instance}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Event-loop lag p99', description: 'How long callbacks wait for the event loop; above 100 ms HTTP answers late (work that should be on a worker thread runs on the loop).', unit: 's', thresholds: thresholds(GREEN, [0.1, YELLOW], [0.5, RED]) },
        promQuery(`outerloop_nodejs_eventloop_lag_p99_seconds{${I}}`, '{{instance}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'JS heap used', description: 'V8 heap in use; steady growth under steady traffic is a leak.', unit: 'bytes' },
        promQuery(`outerloop_nodejs_heap_size_used_bytes{${I}}`, '{{instance}}'),
      ),
    );
}

function serving(): dashboard.DashboardBuilder {
  const V = `${I}, model_version=~"$model_version"`;
  return outerloopDashboard('outerloop-serving', 'Outerloop · Serving', 'The gateway: chat traffic per model version, latency, batching and the completion log.')
    .withVariable(instanceVariable('outerloop_role="gateway"'))
    .withVariable(labelVariable('model_version', 'Model version', 'label_values(outerloop_gateway_requests_total, model_version)'))
    .withRow(new dashboard.RowBuilder('Traffic'))
    .withPanel(
      timeSeries(
        { title: 'Chat requests/s by version and status', description: 'Chat completions per model version (production, canary, shadow) and HTTP status.', unit: 'reqps' },
        promQuery(`sum by (model_version, status) (rate(outerloop_gateway_requests_total{${V}}[$__rate_interval]))`, '{{model_version}} {{status}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Tokens/s by version', description: 'Generated (completion) and processed (prompt) tokens per second.', unit: 'short' },
        promQuery(`sum by (model_version) (rate(outerloop_gateway_generated_tokens_total{${V}}[$__rate_interval]))`, 'generated {{model_version}}'),
        promQuery(`sum by (model_version) (rate(outerloop_gateway_prompt_tokens_total{${V}}[$__rate_interval]))`, 'prompt {{model_version}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Requests refused before generation', description: 'Requests turned away (queue full → 429) by reason; steady refusals mean the gateway needs more slots or replicas.', unit: 'reqps' },
        promQuery(`sum by (reason) (rate(outerloop_gateway_rejected_total{${I}}[$__rate_interval]))`, '{{reason}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Generations stopped early', description: 'Generations cancelled by reason (client gone, deadline, engine).', unit: 'reqps' },
        promQuery(`sum by (reason) (rate(outerloop_gateway_cancelled_total{${I}}[$__rate_interval]))`, '{{reason}}'),
      ),
    )
    .withRow(new dashboard.RowBuilder('Latency and batching'))
    .withPanel(
      timeSeries(
        { title: 'Time to first token p50 / p99', description: 'From request arrival to the first token, queueing included.', unit: 's', thresholds: thresholds(GREEN, [1, YELLOW], [5, RED]) },
        promQuery(`histogram_quantile(0.5, sum by (le) (rate(outerloop_gateway_time_to_first_token_seconds_bucket{${V}}[$__rate_interval])))`, 'p50'),
        promQuery(`histogram_quantile(0.99, sum by (le) (rate(outerloop_gateway_time_to_first_token_seconds_bucket{${V}}[$__rate_interval])))`, 'p99'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Time per output token p50 / p99', description: 'Mean inter-token time of a completion after its first token: the decode speed a user sees.', unit: 's', thresholds: thresholds(GREEN, [0.1, YELLOW], [0.25, RED]) },
        promQuery(`histogram_quantile(0.5, sum by (le) (rate(outerloop_gateway_time_per_output_token_seconds_bucket{${V}}[$__rate_interval])))`, 'p50'),
        promQuery(`histogram_quantile(0.99, sum by (le) (rate(outerloop_gateway_time_per_output_token_seconds_bucket{${V}}[$__rate_interval])))`, 'p99'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Queue depth, active generations and batch size', description: 'Requests waiting for a slot, slots in use, and rows in the engine\'s last decode step.', unit: 'short' },
        promQuery(`sum(outerloop_gateway_queue_depth{${I}})`, 'waiting'),
        promQuery(`sum(outerloop_gateway_active_generations{${I}})`, 'active'),
        promQuery(`sum by (model_version) (outerloop_gateway_engine_batch_size{${V}})`, 'batch {{model_version}}'),
      ),
    )
    .withRow(new dashboard.RowBuilder('Completion log'))
    .withPanel(
      timeSeries(
        { title: 'Completions published and spooled/s', description: 'Completion events acknowledged by the bus, and those written to the durable spool because the bus was unavailable.', unit: 'ops' },
        promQuery(`sum(rate(outerloop_gateway_completions_published_total{${I}}[$__rate_interval]))`, 'published'),
        promQuery(`sum(rate(outerloop_gateway_completions_spooled_total{${I}}[$__rate_interval]))`, 'spooled'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Completion spool size and drops', description: 'Events waiting in the spool for the bus; any drop means completions were lost for training (alerts OuterloopCompletionSpoolGrowing, OuterloopCompletionSpoolDropping).', unit: 'short', thresholds: thresholds(GREEN, [1, RED]) },
        promQuery(`sum(outerloop_gateway_completion_spool_size{${I}})`, 'spooled, waiting'),
        promQuery(`sum(increase(outerloop_gateway_completion_spool_dropped_total{${I}}[5m]))`, 'dropped (5m)'),
      ),
    );
}

function feedback(): dashboard.DashboardBuilder {
  return outerloopDashboard('outerloop-feedback', 'Outerloop · Feedback', 'Feedback from the API to the database: acceptance, ingestion, lag, dead letters, and what is stored.')
    .withVariable(instanceVariable('outerloop_role=~"gateway|ingest"'))
    .withRow(new dashboard.RowBuilder('Feedback API'))
    .withPanel(
      timeSeries(
        { title: 'Feedback accepted/s by type', description: 'Feedback events acknowledged (durable on the bus) by type: thumbs, rating, pairwise, edit.', unit: 'ops' },
        promQuery(`sum by (type) (rate(outerloop_feedback_accepted_total{${I}}[$__rate_interval]))`, '{{type}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Feedback refused/s by reason', description: 'Feedback requests refused: invalid body, unknown completion, another key\'s completion, bus unavailable.', unit: 'ops' },
        promQuery(`sum by (reason) (rate(outerloop_feedback_rejected_total{${I}}[$__rate_interval]))`, '{{reason}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Feedback ack latency p50 / p99', description: 'From request to acknowledgement (the event is durable on the bus).', unit: 's', thresholds: thresholds(GREEN, [0.25, YELLOW], [1, RED]) },
        promQuery(`histogram_quantile(0.5, sum by (le) (rate(outerloop_feedback_ack_seconds_bucket{${I}}[$__rate_interval])))`, 'p50'),
        promQuery(`histogram_quantile(0.99, sum by (le) (rate(outerloop_feedback_ack_seconds_bucket{${I}}[$__rate_interval])))`, 'p99'),
      ),
    )
    .withRow(new dashboard.RowBuilder('Ingestion'))
    .withPanel(
      timeSeries(
        { title: 'Events/s by topic and outcome', description: 'Events the ingest consumers handled: inserted, duplicate (a redelivery, written once), dead-lettered.', unit: 'ops' },
        promQuery(`sum by (topic, outcome) (rate(outerloop_ingest_events_total{${I}}[$__rate_interval]))`, '{{topic}} {{outcome}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Ingest lag by topic', description: 'Age of the oldest event a consumer was handed and has not saved; 0 when caught up. Grows while ingest is stalled (alert OuterloopIngestLagging above 5 minutes).', unit: 's', thresholds: thresholds(GREEN, [60, YELLOW], [300, RED]) },
        promQuery(`max by (topic) (outerloop_ingest_lag_seconds{${I}})`, '{{topic}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Dead-lettered events by topic and cause', description: 'Events the bus wrote to <topic>.dlq: malformed (schema or JSON), rejected by the handler, or failing the handler repeatedly (alert OuterloopDeadLetters). Read the DLQ for the reasons.', unit: 'short', thresholds: thresholds(GREEN, [1, RED]) },
        promQuery(`sum by (topic, cause) (increase(outerloop_bus_dead_lettered_total{${I}}[5m]))`, '{{topic}} {{cause}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Batch write time p99', description: 'Time to persist one consumer batch in the database.', unit: 's', thresholds: thresholds(GREEN, [0.5, YELLOW], [2, RED]) },
        promQuery(`histogram_quantile(0.99, sum by (le, topic) (rate(outerloop_ingest_batch_seconds_bucket{${I}}[$__rate_interval])))`, '{{topic}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Batches retried/s by reason', description: 'Batches handed back to the bus for a retry: database errors (the database is down or failing), or feedback waiting for its completion.', unit: 'ops' },
        promQuery(`sum by (topic, reason) (rate(outerloop_ingest_retries_total{${I}}[$__rate_interval]))`, '{{topic}} {{reason}}'),
      ),
    )
    .withPanel(
      timeSeries(
        { title: 'Feedback waiting for its completion', description: 'Feedback events held back because their completion is not stored yet; dead-lettered after the grace period.', unit: 'short' },
        promQuery(`sum(outerloop_ingest_feedback_waiting_for_completion{${I}})`, 'waiting'),
      ),
    )
    .withRow(new dashboard.RowBuilder('Stored data (PostgreSQL)'))
    .withPanel(statPanel({ title: 'Completions stored', description: 'Rows in completions.', unit: 'short' }, POSTGRES, new SqlQueryBuilder('SELECT count(*) AS completions FROM completions')))
    .withPanel(statPanel({ title: 'Feedback events stored', description: 'Rows in feedback_events.', unit: 'short' }, POSTGRES, new SqlQueryBuilder('SELECT count(*) AS feedback_events FROM feedback_events')))
    .withPanel(statPanel({ title: 'Preference pairs', description: 'Pairs built from feedback (the reward model\'s training data before a snapshot freezes it).', unit: 'short' }, POSTGRES, new SqlQueryBuilder('SELECT count(*) AS preference_pairs FROM preference_pairs')))
    .withPanel(statPanel({ title: 'Dataset snapshots', description: 'Frozen, content-addressed training sets.', unit: 'short' }, POSTGRES, new SqlQueryBuilder('SELECT count(*) AS dataset_snapshots FROM dataset_snapshots')))
    .withPanel(
      tablePanel(
        { title: 'Feedback stored by type', description: 'Feedback events in the time range by type, with the share of positive thumbs.', unit: 'short', span: 12 },
        new SqlQueryBuilder(
          `SELECT type, count(*) AS events, avg(CASE WHEN type = 'thumbs' THEN (value > 0)::int END) AS thumbs_up_share
FROM feedback_events
WHERE $__timeFilter(created_at)
GROUP BY type
ORDER BY type`,
        ),
      ),
    )
    .withPanel(
      tablePanel(
        { title: 'Latest dataset snapshots', description: 'The ten newest snapshots: when, how many pairs (train / held-out), and their content hash.', unit: 'none', span: 12 },
        new SqlQueryBuilder(
          `SELECT created_at, id, counts, sha256
FROM dataset_snapshots
ORDER BY created_at DESC
LIMIT 10`,
        ),
      ),
    );
}

export const DASHBOARDS: Record<string, () => dashboard.DashboardBuilder> = {
  'outerloop-platform.json': platform,
  'outerloop-serving.json': serving,
  'outerloop-feedback.json': feedback,
  ...loopDashboards,
};

/** The dashboards as Grafana JSON, panels numbered in order (stable ids for links). */
export function renderDashboards(): Record<string, dashboard.Dashboard> {
  const out: Record<string, dashboard.Dashboard> = {};
  for (const [file, build] of Object.entries(DASHBOARDS)) {
    const d = build().build();
    (d.panels ?? []).forEach((p, i) => (p.id = i + 1));
    out[file] = d;
  }
  return out;
}

export function writeDashboards(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files = renderDashboards();
  for (const [name, json] of Object.entries(files)) writeFileSync(join(dir, name), JSON.stringify(json, null, 2) + '\n');
  return Object.keys(files);
}


if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2] ?? 'deploy/grafana/dashboards';
  for (const f of writeDashboards(dir)) process.stdout.write(`wrote ${join(dir, f)}\n`);
}
