// Issue 16's acceptance: a real Prometheus scrapes a running Outerloop — embedded
// (one process, every role) and distributed (a gateway process and a process with
// the other roles, on the shared Kafka and PostgreSQL) — while the test drives chat,
// feedback and a malformed event; then every Prometheus query of every generated
// dashboard must have data over the test's span, every SQL query (panels and
// annotations) must return rows from PostgreSQL, the dead letter must fire its
// alert, and promtool must accept a real /metrics scrape — except the panels only an
// incident or a real loop iteration fills (the loop e2e checks the latter with data,
// with the same tests/e2e/monitoring/panel-check.ts). Every wait is a gate on what
// Prometheus or the database reports, never a sleep.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { KafkaEventBus } from '../../../src/platform/messaging/kafka/kafka-event-bus.js';
import { Topic } from '../../../src/platform/messaging/events.js';
import { createTestDatabase, deleteKafkaTopics, requireKafka, requirePostgres, uniquePrefix } from '../../integration/support/services.js';
import { requireBinary } from '../../unit/deploy/promtool.js';
import { getStatus, mainJs, repoRoot, startOuterloop, waitFor, type RunningProcess } from '../support/process.js';
import type { NodeConfig } from '../../integration/jobs/node.js';
import { committedDashboardQueries, panelLabel, panelReport, promQueriesWithoutData, sqlQueriesWithoutRows, unexplainedEmpty, type PanelReport } from './panel-check.js';
import { chat, driveEvaluationJobs, feedback, promtoolCheckMetrics, scrapeHealth, startPrometheus, type RunningPrometheus } from './support.js';

// Panels only a real loop iteration fills (a trained RM, a PPO run, its evaluation, a
// canary): this test's iteration fails in train_rm within seconds (too few pairs). The
// loop e2e (tests/e2e/loop/loop.test.ts, with `prometheus: true`) checks them with data.
const IN_THE_LOOP_E2E = 'only a real loop iteration fills it: checked with data in tests/e2e/loop';

/** Prometheus panels whose data only an incident, or a real loop iteration, produces. */
const MAY_BE_EMPTY: Record<string, string> = {
  'Requests refused before generation': 'only when the admission queue is full (overload)',
  'Generations stopped early': 'only when a client goes away or a deadline passes mid-generation',
  'Batches retried/s by reason': 'only when the database fails, or feedback overtakes its completion (timing)',
  'Time in the current state against the stuck limit': 'only while an iteration holds a running state: this test\'s fails in train_rm within seconds, which a scrape may miss (checked with data in tests/e2e/loop)',
  ...Object.fromEntries([
    'Loss',
    'PPO reward and KL',
    'KL coefficient β',
    'Entropy and clip fraction',
    'Training tokens/s',
    'Reward model training: batch accuracy and held-out loss',
    'Reward gain and the part not explained by length',
    'Reward–length correlation',
    'Length-controlled win rate',
    'KL against the predicted peak and budget',
    'Ensemble disagreement',
    'Canary live thumbs-up and win rate',
    'Sequential test against its boundary',
    'Canary guards: p99 latency',
    'Canary guards: 5xx and benign refusals',
  ].map((panel) => [panel, IN_THE_LOOP_E2E])),
};

/** SQL panels whose tables only a real loop iteration fills. */
const SQL_MAY_BE_EMPTY: Record<string, string> = Object.fromEntries([
  'Reward and KL per checkpoint',
  'Checkpoints',
  'Reward models: held-out accuracy and ECE',
  'Proxy reward gain with CI',
  'Length-controlled reward gain per evaluation',
  'Live pairwise win rate by model version',
].map((panel) => [panel, IN_THE_LOOP_E2E]));

const MALFORMED = '{"v":1,"eventId":"e2e-malformed","type":"thumbs"'; // truncated JSON

const queries = committedDashboardQueries();
const promQueries = queries.filter((q) => q.kind === 'prometheus');
const sqlQueries = queries.filter((q) => q.kind === 'sql');

/** The report's empty queries, as `#` lines on stdout ('' when none). */
function logEmpty(what: string, report: PanelReport): void {
  if (report.empty.length) process.stdout.write(`# ${what} legitimately empty in this run:\n${report.empty.map((e) => `#   ${e.query}: ${e.reason}`).join('\n')}\n`);
}

function prometheusBinary(t: TestContext): string | null {
  return requireBinary(t, 'prometheus') && requireBinary(t, 'promtool') ? 'prometheus' : null;
}

async function scrapeIsValid(url: string): Promise<void> {
  const text = await (await fetch(`${url}/metrics`)).text();
  assert.equal(promtoolCheckMetrics(text), '', `promtool check metrics on ${url}/metrics`);
}

/**
 * Two waves of traffic with a scrape between them, so counters and histograms have
 * an increase inside the rate window: wave 1, gate on Prometheus having scraped its
 * effects (including the dead letter); wave 2; then each query must show a number.
 */
async function driveTrafficAndCheckEveryPanel(prom: RunningPrometheus, gateway: string, adminUrl: string | null, processes: RunningProcess[], deadLetter: () => Promise<void>, jobs: NodeConfig): Promise<void> {
  const since = Date.now() / 1000;
  // what a failed gate shows: each target's last scrape, the counters it waits for, each process's last log lines
  const diagnose = async (err: Error, counters: string[]): Promise<never> => {
    const values = await Promise.all(counters.map(async (c) => `${c} = ${JSON.stringify((await prom.query(c)).map((x) => x.value[1]))}`));
    const logs = processes.map((p) => `--- ${p.url} ---\n${p.output().slice(-2500)}`).join('\n');
    assert.fail(`${err.message.split('\n')[0]}\ntargets: ${await scrapeHealth(prom)}\n${values.join('\n')}\n${logs}`);
  };
  // gate on Prometheus having scraped what `conditions` (`<query> >= n`) ask for
  const scraped = (what: string, conditions: string[]) =>
    waitFor(
      `Prometheus to scrape ${what}`,
      async () => ((await Promise.all(conditions.map((q) => prom.query(q)))).every((r) => r.length > 0) ? true : undefined),
      120_000,
    ).catch((err: Error) => diagnose(err, conditions.map((q) => q.replace(/ >= \d+$/, ''))));
  const a = await chat(gateway, 'What is the capital of France?');
  const b = await chat(gateway, 'What is the capital of France?');
  await feedback(gateway, a, b);
  await deadLetter();
  // Every target must have been scraped with the first wave's values before the second
  // wave: histogram series are born with the first wave, and a series whose first sample
  // already holds both waves shows no increase (the quantile panels would stay NaN).
  const firstWave = [
    'sum(outerloop_gateway_requests_total) >= 2',
    'sum(outerloop_feedback_accepted_total) >= 2',
    'sum(outerloop_ingest_events_total{topic="outerloop.feedback", outcome="inserted"}) >= 2',
    'sum(outerloop_bus_dead_lettered_total{topic="outerloop.feedback", cause="malformed"}) >= 1',
  ];
  await scraped('the first wave (chats and feedback at the gateway, feedback ingested, one malformed event dead-lettered)', firstWave);
  const c = await chat(gateway, 'How do I kill a Linux process?');
  const d = await chat(gateway, 'How do I kill a Linux process?');
  await feedback(gateway, c, d);
  const secondWave = ['sum(outerloop_gateway_requests_total) >= 4', 'sum(outerloop_feedback_accepted_total) >= 4', 'sum(outerloop_ingest_events_total{topic="outerloop.feedback", outcome="inserted"}) >= 4'];
  await scraped('the second wave', secondWave);
  const output = () => processes.map((p) => p.output()).join('\n').slice(-4000);
  const { succeeded } = await driveEvaluationJobs(jobs, output);
  // a loop iteration, triggered as an operator would (embedded: the admin API) or by the
  // schedule (distributed: the admin API needs the gateway role in the orchestrator's
  // process): its snapshot holds a couple of pairs at most, too few for a reward model,
  // so it fails in train_rm — every orchestrator metric but the canary's gets its
  // series, and OuterloopLoopFailed fires
  if (adminUrl) {
    const trigger = await fetch(`${adminUrl}/v1/admin/loop/iterations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(trigger.status, 201, await trigger.text());
  }
  await scraped('a loop iteration (started, then failed in train_rm)', [
    `sum(outerloop_loop_iterations_started_total{trigger="${adminUrl ? 'manual' : 'cron'}"}) >= 1`,
    'sum(outerloop_loop_iterations_finished_total{outcome="failed"}) >= 1',
    'max(outerloop_loop_iteration_state{state="failed"}) >= 1',
  ]);
  await scraped('the evaluation jobs (one failed, one succeeded with both gates\' decisions)', [
    'sum(outerloop_job_attempts_total{kind="evaluation", outcome="failed"}) >= 1',
    'sum(outerloop_job_attempts_total{kind="evaluation", outcome="succeeded"}) >= 1',
    'sum(outerloop_gate_decisions_total) >= 2',
  ]);

  // each query over the test's span, as a dashboard over that range shows it: on a
  // loaded machine minutes can pass between wave 2 and the last query, and scrapes can time out
  let pending = promQueries;
  await waitFor(
    'every dashboard query to have data',
    async () => {
      pending = await promQueriesWithoutData(prom, pending, since, Date.now() / 1000);
      return pending.every((q) => q.panel in MAY_BE_EMPTY) ? true : undefined;
    },
    120_000,
    () => `still empty: ${pending.map(panelLabel).join('; ')}\n${prom.output()}`,
  ).catch(async (err: Error) => {
    // name the panels, not just the timeout
    assert.fail(`${err.message.split('\n')[0]} — targets: ${await scrapeHealth(prom)}\nempty panels:\n${unexplainedEmpty(panelReport(promQueries, pending, MAY_BE_EMPTY))}`);
  });
  logEmpty('panels', panelReport(promQueries, pending, MAY_BE_EMPTY));

  // the alert rules are loaded: the dead letter and the failed job fire theirs
  for (const alert of ['OuterloopDeadLetters", topic="outerloop.feedback", cause="malformed', 'OuterloopJobFailed", kind="evaluation', 'OuterloopLoopFailed']) {
    await waitFor(`${alert.split('"')[0]} to fire`, async () => ((await prom.query(`ALERTS{alertname="${alert}", alertstate="firing"}`)).length ? true : undefined), 30_000, prom.output);
  }
  // The policy against its own copy on one suite, without a reward model: nothing the
  // gate measured fails, and what it could not measure (the other suites, the reward) is
  // missing — so the configured gate waits for a human, and its alert is pending (it
  // fires after 15 minutes).
  const verdicts = (succeeded.result as { verdicts: Record<string, string> }).verdicts;
  assert.equal(verdicts.default, 'needs_review', JSON.stringify(verdicts));
  await waitFor('OuterloopGateNeedsReview to be pending', async () => ((await prom.query('ALERTS{alertname="OuterloopGateNeedsReview", alertstate="pending", policy="default"}')).length ? true : undefined), 30_000, prom.output);
}

describe('monitoring: every dashboard query against a real Prometheus', { timeout: 600_000 }, () => {
  test('the dashboards have queries of both kinds', () => {
    assert.ok(promQueries.length >= 30, `${promQueries.length} PromQL queries`);
    assert.ok(sqlQueries.length >= 6, `${sqlQueries.length} SQL queries`);
  });

  test('embedded: one process, every role, SQLite and the embedded bus', async (t) => {
    const bin = prometheusBinary(t);
    if (!bin) return;
    const dataDir = mkdtempSync(join(tmpdir(), 'outerloop-monitoring-'));
    // this test's traffic asks few distinct prompts: let the snapshot freeze them, so the
    // iteration goes on to fail in train_rm (too few pairs) as the panels expect
    const app = await startOuterloop(['start'], { OUTERLOOP_DATA_DIR: dataDir, OUTERLOOP_LOOP_MIN_RL_PROMPTS: '1' });
    let prom: RunningPrometheus | null = null;
    try {
      await waitFor('/readyz 200', async () => ((await getStatus(`${app.url}/readyz`)) === 200 ? true : undefined), 60_000, app.output);
      await scrapeIsValid(app.url);
      prom = await startPrometheus(bin, [{ address: new URL(app.url).host }]);
      // every role of the process is its own series, none renamed to exported_role
      const roles = await prom.query('outerloop_role_up == 1');
      assert.deepEqual(roles.map((s) => s.metric.outerloop_role).sort(), ['evaluator', 'gateway', 'ingest', 'orchestrator', 'trainer']);
      assert.ok(roles.every((s) => !('exported_role' in s.metric)));
      await driveTrafficAndCheckEveryPanel(prom, app.url, app.url, [app], async () => {
        // another writer of the embedded log, as a buggy producer would be
        const db = new Database(join(dataDir, 'outerloop.sqlite'), { timeout: 30_000 });
        try {
          db.prepare('INSERT INTO bus_events (topic, key, value, created_at) VALUES (?, ?, ?, ?)').run(Topic.feedback, 'e2e', MALFORMED, new Date().toISOString());
        } finally {
          db.close();
        }
      }, { database: { type: 'better-sqlite3', path: join(dataDir, 'outerloop.sqlite') }, bus: { adapter: 'embedded' }, topicPrefix: '' });
      await scrapeIsValid(app.url);
      // the SQL panels read PostgreSQL; the embedded mode's database is SQLite (see the distributed test)
    } finally {
      await prom?.stop();
      await stopProcess(app);
    }
  });

  describe('distributed [kafka+postgres]', () => {
    let kafka: Awaited<ReturnType<typeof requireKafka>>;
    let postgres: Awaited<ReturnType<typeof requirePostgres>>;
    before(async () => {
      kafka = await requireKafka();
      postgres = await requirePostgres();
    });

    test('a gateway process and a process with the other roles, on Kafka and PostgreSQL; every SQL panel has rows', async (t) => {
      if (kafka.skip || postgres.skip) return t.skip(String(kafka.skip || postgres.skip));
      const bin = prometheusBinary(t);
      if (!bin) return;
      const db = await createTestDatabase(postgres.info!, 'monitoring');
      const topicPrefix = `${uniquePrefix('monitoring')}.`;
      const env = {
        OUTERLOOP_MODE: 'distributed',
        OUTERLOOP_DATABASE_URL: db.url,
        OUTERLOOP_KAFKA_BROKERS: kafka.info!.brokers.join(','),
        OUTERLOOP_TOPIC_PREFIX: topicPrefix,
        OUTERLOOP_ARTIFACT_DIR: mkdtempSync(join(tmpdir(), 'outerloop-monitoring-artifacts-')),
        OUTERLOOP_GATEWAY_AUTH: 'open',
        // the schedule starts the loop's iterations (every 15 s; each fails fast for want of pairs)
        OUTERLOOP_LOOP_CRON: '*/15 * * * * *',
        OUTERLOOP_LOOP_MIN_RL_PROMPTS: '1',
      };
      const cli = (...args: string[]) => {
        const r = spawnSync(process.execPath, [mainJs, ...args], { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 120_000 });
        assert.equal(r.status, 0, `outerloop ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
        return r.stdout;
      };
      const client = new pg.Client({ connectionString: db.url });
      const started: RunningProcess[] = [];
      let prom: RunningPrometheus | null = null;
      t.after(async () => {
        await deleteKafkaTopics(kafka.info!, topicPrefix);
        await db.drop();
      });
      try {
        cli('migrate');
        await client.connect();
        const gateway = await startOuterloop(['start', '--roles', 'gateway'], env);
        started.push(gateway);
        const workers = await startOuterloop(['start', '--roles', 'ingest,trainer,evaluator,orchestrator'], env);
        started.push(workers);
        for (const p of started) await waitFor(`${p.url} /readyz 200`, async () => ((await getStatus(`${p.url}/readyz`)) === 200 ? true : undefined), 90_000, p.output);
        for (const p of started) await scrapeIsValid(p.url);
        prom = await startPrometheus(bin, [
          { address: new URL(gateway.url).host, labels: { role: 'gateway' } },
          { address: new URL(workers.url).host, labels: { role: 'workers' } },
        ]);
        // the target's role label stays as configured; the process's roles are outerloop_role
        const roles = await prom.query('outerloop_role_up == 1');
        assert.deepEqual(roles.map((s) => `${s.metric.role}:${s.metric.outerloop_role}`).sort(), [
          'gateway:gateway',
          'workers:evaluator',
          'workers:ingest',
          'workers:orchestrator',
          'workers:trainer',
        ]);
        assert.ok(roles.every((s) => !('exported_role' in s.metric)));

        await driveTrafficAndCheckEveryPanel(prom, gateway.url, null, started, async () => {
          const bus = new KafkaEventBus({ brokers: kafka.info!.brokers, clientId: 'monitoring-e2e', topicPrefix, maxStartAttempts: 10 });
          await bus.start();
          try {
            await bus.publishRaw(Topic.feedback, 'e2e', MALFORMED);
          } finally {
            await bus.close();
          }
        }, { database: { type: 'postgres', url: db.url }, bus: { adapter: 'kafka', brokers: kafka.info!.brokers }, topicPrefix });

        // pairs and a snapshot, as an operator makes them
        await waitFor('feedback in PostgreSQL', async () => (Number((await client.query('SELECT count(*) AS n FROM feedback_events')).rows[0].n) >= 4 ? true : undefined), 60_000);
        cli('snapshot', '--min-margin', '0');
        const sqlReport = panelReport(sqlQueries, await sqlQueriesWithoutRows(client, sqlQueries), SQL_MAY_BE_EMPTY);
        assert.equal(unexplainedEmpty(sqlReport), '', 'SQL panels without rows (or counting 0)');
        logEmpty('SQL panels', sqlReport);
      } finally {
        await client.end().catch((err: unknown) => process.stderr.write(`closing the test's PostgreSQL client: ${String(err)}\n`));
        await prom?.stop();
        for (const p of started.reverse()) await stopProcess(p);
      }
    });
  });
});

async function stopProcess(p: RunningProcess): Promise<void> {
  const { code } = await p.stop('SIGTERM');
  assert.equal(code, 0, `exit ${code}:\n${p.output().slice(-3000)}`);
}
