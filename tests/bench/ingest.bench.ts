// `npm run bench -- ingest [--seconds 20] [--concurrency 64,256,512] [--batch-size 500]
//   [--batch-concurrency 4] [--backlog 100000] [--client undici|node-http]`
//
// Feedback ingestion against real Kafka and PostgreSQL (tests/infra/.env, as CI
// starts them), through the real binary: one gateway process and one ingest
// process (`outerloop start --roles …`, distributed mode), driven over HTTP.
//   1. single: `--concurrency` clients POST /v1/feedback for `--seconds`, once per level
//      of the list; the sustained figure is the best level. The clients are closed-loop
//      (each waits for its 202 before sending again), so a level offers at most
//      clients / ack latency: 64 clients at ~40 ms cap the offered load near 1,600
//      events/s whatever the server could take, hence larger levels. More requests in
//      flight also coalesce into larger acks=all publishes (group commit), so the
//      gateway and the broker spend less CPU per event; each level's latency is
//      reported next to its rate (measured: p99 ~240 ms at both 256 and 512 clients).
//   2. batch:  `--batch-concurrency` clients POST /v1/feedback/batch of `--batch-size`
//   3. drain:  ingest stopped, a backlog of `--backlog` events produced, ingest
//      started; time until every event is in the table = consumer drain rate
// Then the end-of-run check: the ids acknowledged with 202 equal the ids persisted.
// Goals on the 2-core machine (issue 6): ≥ 3,000 events/s single, ≥ 10,000 batched.
// Everything runs on the same 2 cores (broker, database, both services, the load
// generator), so the figures are a floor for a real deployment.
import { mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Pool } from 'undici';
import { configureLogging } from '../../src/platform/logging/logger.js';
import { KafkaEventBus } from '../../src/platform/messaging/kafka/kafka-event-bus.js';
import { Topic } from '../../src/platform/messaging/events.js';
import { createDataSource, runMigrations } from '../../src/platform/persistence/data-source.js';
import { createTestDatabase, uniquePrefix, waitFor } from '../integration/support/services.js';
import { JsonClient, completionEvent, feedbackBody, startOuterloop, waitUntilReady, type DistributedEnv, type OuterloopProcess } from '../integration/ingest/harness.js';
import { INFRA_ENV_FILE, loadInfraEnv, percentileOfSorted, positiveOption } from './options.js';
import { printResult, printTable } from './table.js';

/** The test services' connection info: the environment, else tests/infra/.env. */
function testServices(): { databaseUrl: string; brokers: string[] } {
  if (!loadInfraEnv() && !(process.env.OUTERLOOP_TEST_DATABASE_URL && process.env.OUTERLOOP_TEST_KAFKA_BROKERS)) {
    throw new Error(`ingest bench needs Kafka and PostgreSQL: run \`bash tests/infra/up.sh\` (no ${INFRA_ENV_FILE})`);
  }
  const { OUTERLOOP_TEST_DATABASE_URL: databaseUrl, OUTERLOOP_TEST_KAFKA_BROKERS: brokers } = process.env;
  if (!databaseUrl || !brokers) throw new Error('OUTERLOOP_TEST_DATABASE_URL / OUTERLOOP_TEST_KAFKA_BROKERS not set');
  return { databaseUrl, brokers: brokers.split(',') };
}

interface PhaseResult {
  events: number;
  requests: number;
  failed: number;
  seconds: number;
  latenciesMs: number[];
}

async function drive(seconds: number, workers: number, sendOne: (worker: number, seq: number) => Promise<{ ok: boolean; events: number }>): Promise<PhaseResult> {
  const latenciesMs: number[] = [];
  let events = 0;
  let requests = 0;
  let failed = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let seq = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const r = await sendOne(w, seq++);
        requests++;
        if (r.ok) {
          latenciesMs.push(performance.now() - t0);
          events += r.events;
        } else failed++;
      }
    }),
  );
  return { events, requests, failed, seconds: (performance.now() - start) / 1000, latenciesMs: latenciesMs.sort((a, b) => a - b) };
}

/**
 * The load generator's HTTP client. It shares the 2 cores with what it measures, so
 * its own cost per request is part of the ceiling: node:http's client spent
 * ~0.44 ms of CPU per request here (1.8 s for 4,099 requests, load average ~5),
 * undici's keep-alive Pool (one connection per concurrent client, no pipelining, as
 * browsers and SDKs send) costs a fraction of that.
 */
class LoadClient {
  private readonly pool: Pool;

  constructor(port: number, connections: number) {
    this.pool = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  }

  async post(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
    const res = await this.pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.body.text();
    return { status: res.statusCode, body: (res.headers['content-type'] ?? '').includes('json') ? JSON.parse(text) : text };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** The same interface over node:http (the harness's JsonClient). */
class NodeHttpLoadClient {
  private readonly client: JsonClient;

  constructor(port: number, connections: number) {
    this.client = new JsonClient('127.0.0.1', port, connections);
  }

  post(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
    return this.client.post(path, body);
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

/** The broker's pid from tests/infra/kafka.sh's pid file, if this machine runs that broker. */
function brokerPid(): number | undefined {
  try {
    const pid = Number(readFileSync(join(process.env.OUTERLOOP_KAFKA_HOME ?? '/var/tmp/outerloop-kafka', 'kafka.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (err) {
    process.stderr.write(`[ingest bench] broker CPU not measured (no tests/infra broker pid file: ${(err as Error).message})\n`);
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    // fields after the ")" that closes comm: utime and stime are the 12th and 13th
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ = 100 on Linux
  } catch (err) {
    process.stderr.write(`[ingest bench] cannot read CPU time of pid ${pid}: ${(err as Error).message}\n`);
    return NaN;
  }
}

/** Machine-wide busy and total CPU seconds (all cores), from /proc/stat. */
function machineCpuSeconds(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = cpu[3]! + cpu[4]!; // idle + iowait
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / 100, total: total / 100 };
}

async function scrape(proc: OuterloopProcess, metricName: string): Promise<number> {
  const client = new JsonClient('127.0.0.1', proc.port, 1);
  try {
    const r = await client.get('/metrics');
    let total = 0;
    for (const line of String(r.body).split('\n')) if (line.startsWith(metricName)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
    return total;
  } finally {
    client.close();
  }
}

export async function run(args: string[]): Promise<void> {
  const seconds = positiveOption(args, 'seconds', 20);
  const concurrencyArg = args.indexOf('--concurrency') >= 0 ? String(args[args.indexOf('--concurrency') + 1]) : '64,256,512';
  const concurrencyLevels = concurrencyArg.split(',').map(Number);
  if (concurrencyLevels.some((c) => !Number.isInteger(c) || c <= 0)) throw new Error(`--concurrency needs positive integers (a comma-separated list), got ${JSON.stringify(concurrencyArg)}`);
  const concurrency = Math.max(...concurrencyLevels);
  const batchSize = positiveOption(args, 'batch-size', 500);
  const batchConcurrency = positiveOption(args, 'batch-concurrency', 4);
  const backlog = positiveOption(args, 'backlog', 100_000);
  const completions = 1000;
  // The JSON line must stay the last line of stdout: the bench's own bus logs only warnings (to stderr).
  configureLogging({ format: 'json', level: 'warn' });

  // Other work on the machine (a second benchmark, a training run) shows up here
  // first: figures taken at a 1-minute load far above the core count are not comparable.
  const loadAtStart = loadavg()[0]!;
  const services = testServices();
  const db = await createTestDatabase({ url: services.databaseUrl }, 'benchingest');
  const ds = createDataSource({ type: 'postgres', url: db.url });
  await ds.initialize();
  await runMigrations(ds);
  await ds.destroy();
  const prefix = `${uniquePrefix('benchingest')}.`;
  const target: DistributedEnv = { databaseUrl: db.url, brokers: services.brokers, topicPrefix: prefix };
  const logDir = mkdtempSync(join(tmpdir(), 'outerloop-bench-ingest-'));
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  const bus = new KafkaEventBus({ brokers: services.brokers, clientId: 'bench-ingest', topicPrefix: prefix, maxStartAttempts: 20 });
  await bus.start();
  let ingest = await startOuterloop('ingest', target, join(logDir, 'ingest-1.log'));
  const gateway = await startOuterloop('gateway', target, join(logDir, 'gateway.log'), { OUTERLOOP_GATEWAY_AUTH: 'open', OUTERLOOP_DATA_DIR: join(logDir, 'gateway-data'), OUTERLOOP_LOG_LEVEL: 'warn' });
  // --client node-http: the previous load client, to separate the load generator's
  // share of a speed-up from the server's in a same-window comparison
  const nodeHttp = args.includes('--client') && args[args.indexOf('--client') + 1] === 'node-http';
  const http = nodeHttp ? new NodeHttpLoadClient(gateway.port, Math.max(concurrency, batchConcurrency)) : new LoadClient(gateway.port, Math.max(concurrency, batchConcurrency));
  const broker = brokerPid();
  const count = async () => Number((await sql.query<{ n: string }>('SELECT count(*) AS n FROM feedback_events')).rows[0]!.n);
  try {
    await waitUntilReady(gateway);
    const completionIds = Array.from({ length: completions }, (_, i) => `${prefix}c${i}`);
    await bus.publish(Topic.completions, completionIds.map((id) => ({ key: `conv-${id}`, value: completionEvent(id) })));
    await waitFor('completions ingested', async () => (await sql.query('SELECT count(*) AS n FROM completions')).rows[0].n === String(completions), 60_000, 200);

    const acknowledged: string[] = [];
    const post = async (path: string, body: unknown) => {
      const r = await http.post(path, body);
      if (r.status !== 202) return { ok: false, events: 0 };
      const ids = (r.body as { event_ids: string[] }).event_ids;
      for (const id of ids) acknowledged.push(id);
      return { ok: true, events: ids.length };
    };

    // Where the CPU goes during each single level: every process shares 2 cores, so a
    // figure is only meaningful next to who used them (the gateway, ingest, this load
    // generator, and the rest: broker, PostgreSQL, other work on the machine).
    const singleLevels: Array<{ clients: number; result: PhaseResult; cpu: Record<string, number>; publishCalls: number }> = [];
    for (const clients of concurrencyLevels) {
      process.stderr.write(`[ingest bench] single-event requests: ${clients} clients for ${seconds} s\n`);
      const cpuBefore = { gateway: processCpuSeconds(gateway.child.pid), ingest: processCpuSeconds(ingest.child.pid), broker: processCpuSeconds(broker), load: process.cpuUsage(), machine: machineCpuSeconds() };
      const publishCallsBefore = await scrape(gateway, 'outerloop_feedback_publish_batch_records_count');
      const result = await drive(seconds, clients, (_w, seq) => post('/v1/feedback', feedbackBody(seq, completionIds)));
      const loadCpu = process.cpuUsage(cpuBefore.load);
      const machineAfter = machineCpuSeconds();
      const cpu = {
        gateway: processCpuSeconds(gateway.child.pid) - cpuBefore.gateway,
        ingest: processCpuSeconds(ingest.child.pid) - cpuBefore.ingest,
        broker: processCpuSeconds(broker) - cpuBefore.broker,
        loadGenerator: (loadCpu.user + loadCpu.system) / 1e6,
        machineBusy: machineAfter.busy - cpuBefore.machine.busy,
        machineTotal: machineAfter.total - cpuBefore.machine.total,
      };
      singleLevels.push({ clients, result, cpu, publishCalls: (await scrape(gateway, 'outerloop_feedback_publish_batch_records_count')) - publishCallsBefore });
    }
    const best = singleLevels.reduce((a, b) => (b.result.events / b.result.seconds > a.result.events / a.result.seconds ? b : a));
    const single = best.result;
    const singleCpu = best.cpu;
    const singlePublishCalls = best.publishCalls;
    const persistedAfterSingle = await count();

    process.stderr.write(`[ingest bench] batch requests: ${batchConcurrency} clients x ${batchSize} events for ${seconds} s\n`);
    const batch = await drive(seconds, batchConcurrency, (_w, seq) =>
      post('/v1/feedback/batch', { events: Array.from({ length: batchSize }, (_, j) => feedbackBody(seq * batchSize + j, completionIds)) }),
    );

    const drainStart = performance.now();
    await waitFor('live traffic drained', async () => (await count()) >= acknowledged.length, 300_000, 200);
    const liveDrainSeconds = (performance.now() - drainStart) / 1000;
    const publishCalls = await scrape(gateway, 'outerloop_feedback_publish_batch_records_count');
    const publishedRecords = await scrape(gateway, 'outerloop_feedback_publish_batch_records_sum');

    // 3. consumer drain rate: a backlog produced while ingest is down
    await ingest.stop();
    process.stderr.write(`[ingest bench] backlog: ${backlog} events while ingest is stopped\n`);
    const beforeBacklog = acknowledged.length;
    const backlogBatches = Math.ceil(backlog / 1000);
    for (let b = 0; b < backlogBatches; b += batchConcurrency) {
      await Promise.all(
        Array.from({ length: Math.min(batchConcurrency, backlogBatches - b) }, async (_, k) => {
          const events = Array.from({ length: 1000 }, (_, j) => feedbackBody((b + k) * 1000 + j, completionIds));
          for (let attempt = 0; ; attempt++) {
            const r = await post('/v1/feedback/batch', { events });
            if (r.ok) return;
            if (attempt > 20) throw new Error('backlog batch refused 20 times');
          }
        }),
      );
    }
    const backlogEvents = acknowledged.length - beforeBacklog;
    const persistedBeforeDrain = await count();
    const drainT0 = performance.now();
    ingest = await startOuterloop('ingest', target, join(logDir, 'ingest-2.log'));
    let firstRowAt = 0;
    await waitFor(
      'backlog drained',
      async () => {
        const n = await count();
        if (!firstRowAt && n > persistedBeforeDrain) firstRowAt = performance.now();
        return n >= acknowledged.length;
      },
      600_000,
      100,
    );
    const drainEnd = performance.now();
    const drainSeconds = (drainEnd - drainT0) / 1000;
    const drainSecondsFromFirstRow = (drainEnd - firstRowAt) / 1000;

    // end-of-run check
    const rows = await sql.query<{ id: string }>('SELECT id FROM feedback_events');
    const persisted = new Set(rows.rows.map((r) => r.id));
    const acked = new Set(acknowledged);
    const lost = [...acked].filter((id) => !persisted.has(id)).length;
    const unacknowledgedPersisted = [...persisted].filter((id) => !acked.has(id)).length;
    const duplicateRows = rows.rows.length - persisted.size;
    const redeliveriesAbsorbed = await scrape(ingest, 'outerloop_ingest_events_total{topic="outerloop.feedback",outcome="duplicate"}');

    const singleRate = single.events / single.seconds;
    const batchRate = batch.events / batch.seconds;
    const drainRate = backlogEvents / drainSeconds;
    printTable('feedback ingestion (HTTP → Kafka acks=all → ingest → PostgreSQL)', [
      ...singleLevels
        .filter((l) => l !== best)
        .map((l) => ({ mode: 'single', clients: l.clients, 'events/s': Math.round(l.result.events / l.result.seconds), 'p50 ack ms': percentileOfSorted(l.result.latenciesMs, 50), 'p99 ack ms': percentileOfSorted(l.result.latenciesMs, 99), failed: l.result.failed, goal: '' })),
      { mode: 'single (best)', clients: best.clients, 'events/s': Math.round(singleRate), 'p50 ack ms': percentileOfSorted(single.latenciesMs, 50), 'p99 ack ms': percentileOfSorted(single.latenciesMs, 99), failed: single.failed, goal: '≥ 3000' },
      { mode: `batch x${batchSize}`, clients: batchConcurrency, 'events/s': Math.round(batchRate), 'p50 ack ms': percentileOfSorted(batch.latenciesMs, 50), 'p99 ack ms': percentileOfSorted(batch.latenciesMs, 99), failed: batch.failed, goal: '≥ 10000' },
    ]);
    printTable('consumer drain and end-of-run check', [
      { figure: 'backlog drain rate (events/s, from ingest start)', value: Math.round(drainRate) },
      { figure: 'backlog drain rate (events/s, from first row)', value: Math.round(backlogEvents / drainSecondsFromFirstRow) },
      { figure: 'live traffic: persisted at end of the single levels / acknowledged in them', value: `${persistedAfterSingle} / ${singleLevels.reduce((n, l) => n + l.result.events, 0)}` },
      { figure: 'events per bus publish (coalescing, whole run)', value: publishCalls ? publishedRecords / publishCalls : 0 },
      { figure: 'single (best level): bus publishes / events per publish', value: `${singlePublishCalls} / ${singlePublishCalls ? (single.events / singlePublishCalls).toFixed(1) : 0}` },
      {
        figure: 'single (best level) CPU s: gateway / ingest / broker / load generator / machine busy of total',
        value: `${singleCpu.gateway.toFixed(1)} / ${singleCpu.ingest.toFixed(1)} / ${singleCpu.broker.toFixed(1)} / ${singleCpu.loadGenerator.toFixed(1)} / ${singleCpu.machineBusy.toFixed(1)} of ${singleCpu.machineTotal.toFixed(1)}`,
      },
      { figure: 'single (best level) gateway CPU per request (ms)', value: ((singleCpu.gateway / single.requests) * 1000).toFixed(3) },
      { figure: 'acknowledged', value: acked.size },
      { figure: '1-min load average at start / end (cores: 2)', value: `${loadAtStart.toFixed(1)} / ${loadavg()[0]!.toFixed(1)}` },
      { figure: 'persisted', value: persisted.size },
      { figure: 'lost / persisted-not-acknowledged / duplicate rows', value: `${lost} / ${unacknowledgedPersisted} / ${duplicateRows}` },
    ]);
    printResult('ingest', {
      single: {
        eventsPerSecond: singleRate, unit: 'events/s (the best concurrency level)', requests: single.requests, failed: single.failed, clients: best.clients, seconds: single.seconds,
        levels: singleLevels.map((l) => ({
          clients: l.clients, eventsPerSecond: l.result.events / l.result.seconds, failed: l.result.failed,
          ackLatencyMs: { p50: percentileOfSorted(l.result.latenciesMs, 50), p99: percentileOfSorted(l.result.latenciesMs, 99) },
          eventsPerPublish: l.publishCalls ? l.result.events / l.publishCalls : 0,
          cpuMsPerEvent: Object.fromEntries(Object.entries(l.cpu).filter(([k]) => k !== 'machineTotal').map(([k, v]) => [k, (v / Math.max(1, l.result.events)) * 1000])),
        })),
        ackLatencyMs: { p50: percentileOfSorted(single.latenciesMs, 50), p99: percentileOfSorted(single.latenciesMs, 99) },
        publishCalls: singlePublishCalls, eventsPerPublish: singlePublishCalls ? single.events / singlePublishCalls : 0,
        cpuSeconds: { ...singleCpu, unit: 's (user+system; machine = all cores)' },
        gatewayCpuMsPerRequest: (singleCpu.gateway / single.requests) * 1000,
      },
      batch: {
        eventsPerSecond: batchRate, unit: 'events/s', requests: batch.requests, failed: batch.failed, clients: batchConcurrency, batchSize, seconds: batch.seconds,
        ackLatencyMs: { p50: percentileOfSorted(batch.latenciesMs, 50), p99: percentileOfSorted(batch.latenciesMs, 99) },
      },
      drain: {
        backlogEvents, seconds: drainSeconds, eventsPerSecond: drainRate, eventsPerSecondFromFirstRow: backlogEvents / drainSecondsFromFirstRow, unit: 'events/s',
        liveTrafficDrainSeconds: liveDrainSeconds,
      },
      coalescing: { publishCalls, eventsPerPublish: publishCalls ? publishedRecords / publishCalls : 0 },
      check: { accepted: acked.size, persisted: persisted.size, lost, persistedNotAcknowledged: unacknowledgedPersisted, duplicates: duplicateRows, redeliveriesAbsorbed, ok: lost === 0 && unacknowledgedPersisted === 0 && duplicateRows === 0 },
      conditions: {
        kafka: 'single broker KRaft, 3 partitions, acks=all, idempotent producer', database: 'PostgreSQL (tests/infra)', processes: 'gateway + ingest + load generator + broker + database on one machine',
        ingestMaxBatch: 2000, completions, loadClient: nodeHttp ? 'node:http Agent (keep-alive)' : 'undici Pool (keep-alive)',
        loadAverage1m: { atStart: loadAtStart, atEnd: loadavg()[0]! },
      },
    });
  } finally {
    await http.close();
    await Promise.allSettled([gateway.stop(), ingest.stop()]);
    await Promise.allSettled([bus.close(), sql.end()]);
    await db.drop();
  }
}
