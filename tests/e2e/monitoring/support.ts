// A real Prometheus (Debian's binary, not its systemd service) on a free loopback
// port with its own temporary data dir, scraping given Outerloop targets every
// two seconds with the repository's alert rules loaded; and the traffic that makes every
// dashboard panel show something.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { JobRecord } from '../../../src/domain/jobs.js';
import { TypeOrmModelRegistryRepository } from '../../../src/platform/persistence/repositories/model-registry.repository.js';
import { openNode, type NodeConfig } from '../../integration/jobs/node.js';
import { freePort, repoRoot, waitFor } from '../support/process.js';

export interface ScrapeTarget {
  /** host:port */
  address: string;
  /** target labels, as deploy/prometheus/prometheus.yml sets `role` */
  labels?: Record<string, string>;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PromRangeSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

export interface RunningPrometheus {
  url: string;
  query(expr: string): Promise<PromSample[]>;
  /** what a Grafana time series panel asks: the expression at every `stepS` from `start` to `end` (Unix seconds) */
  queryRange(expr: string, start: number, end: number, stepS: number): Promise<PromRangeSeries[]>;
  output(): string;
  stop(): Promise<void>;
}

/**
 * `scrapeIntervalS` (also the scrape timeout): 2 s by default, short enough to gate
 * quickly, long enough that a loaded 2-core machine answers a scrape in time; longer
 * for processes that train (a training step holds the event loop).
 */
export async function startPrometheus(bin: string, targets: ScrapeTarget[], scrapeIntervalS = 2): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'outerloop-prometheus-'));
  const port = await freePort();
  const every = `${scrapeIntervalS}s`;
  const config = {
    global: { scrape_interval: every, scrape_timeout: every, evaluation_interval: every },
    rule_files: [join(repoRoot, 'deploy/prometheus/alerts.yml')],
    scrape_configs: [
      {
        job_name: 'outerloop',
        metrics_path: '/metrics',
        static_configs: targets.map((t) => ({ targets: [t.address], labels: t.labels ?? {} })),
      },
    ],
  };
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  const check = spawnSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
  assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  const child = spawn(
    bin,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  const url = `http://127.0.0.1:${port}`;
  const api = async <T>(path: string, params: Record<string, string>): Promise<T> => {
    const r = await fetch(`${url}/api/v1/${path}?${new URLSearchParams(params)}`, { signal: AbortSignal.timeout(30_000) });
    const body = (await r.json()) as { status: string; error?: string; data?: { resultType: string; result: T } };
    if (body.status !== 'success') throw new Error(`Prometheus rejected ${params.query}: ${body.error ?? r.status}`);
    return body.data!.result;
  };
  const prom: RunningPrometheus = {
    url,
    output: () => out,
    query: (expr) => api<PromSample[]>('query', { query: expr }),
    queryRange: (expr, start, end, stepS) => api<PromRangeSeries[]>('query_range', { query: expr, start: String(start), end: String(end), step: String(stepS) }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor('Prometheus ready', async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), 30_000, prom.output);
    // gate on the first scrape of every target, not on time
    await waitFor(
      `every target up (${targets.map((t) => t.address).join(', ')})`,
      async () => ((await prom.query('up{job="outerloop"} == 1')).length === targets.length ? true : undefined),
      30_000,
      prom.output,
    );
  } catch (err) {
    await prom.stop();
    throw err;
  }
  return prom;
}

/** Each target's last scrape: up and how long it took (for failure messages). */
export async function scrapeHealth(prom: RunningPrometheus): Promise<string> {
  const up = await prom.query('up{job="outerloop"}');
  const took = await prom.query('scrape_duration_seconds{job="outerloop"}');
  return up.map((u) => `${u.metric.instance}: up=${u.value[1]} scrape=${took.find((t) => t.metric.instance === u.metric.instance)?.value[1] ?? '?'}s`).join(', ');
}

export async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(60_000) });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

/** One chat completion; returns its completion id. */
export async function chat(gateway: string, content: string): Promise<string> {
  const r = await post(`${gateway}/v1/chat/completions`, { model: 'outerloop', messages: [{ role: 'user', content }], max_tokens: 8 });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.id as string;
}

/** Feedback that is accepted (thumbs, pairwise) and one that is refused (unknown completion). */
export async function feedback(gateway: string, a: string, b: string): Promise<void> {
  assert.equal((await post(`${gateway}/v1/feedback`, { completion_id: a, type: 'thumbs', value: 'up' })).status, 202);
  assert.equal((await post(`${gateway}/v1/feedback`, { completion_id: a, type: 'pairwise', value: 'this', other_completion_id: b })).status, 202);
  assert.equal((await post(`${gateway}/v1/feedback`, { completion_id: 'no-such-completion', type: 'thumbs', value: 'down' })).status, 404);
}

export function promtoolCheckMetrics(text: string): string {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return r.status === 0 ? `${r.stdout}${r.stderr}`.trim() : `promtool check metrics failed (${r.status}): ${r.stdout}${r.stderr}`;
}

/**
 * Evaluation jobs in the running app, as the orchestrator will enqueue them: a copy of
 * the production policy registered as a candidate and evaluated against it on one
 * suite (the evaluator records evaluations rows and both gates' decisions, and sets
 * the scorecard gauges), and one naming a candidate that does not exist, which fails
 * (a failed job for the Training panels and OuterloopJobFailed). The test opens its
 * own connection to the app's database and bus, as another process would.
 */
export async function driveEvaluationJobs(config: NodeConfig, output: () => string): Promise<{ succeeded: JobRecord; failed: JobRecord }> {
  const node = await openNode(config);
  try {
    const registry = new TypeOrmModelRegistryRepository(node.dataSource.manager);
    const production = await waitFor('the production policy registered by the app', async () => (await registry.findByStatus('policy', 'production'))[0], 60_000, output);
    const candidate = await registry.register(
      { id: 'policy-e2e-monitoring', kind: 'policy', parentId: production.id, artifactPath: production.artifactPath, sha256: production.sha256 },
      { ifAbsent: true },
    );
    const failing = await node.queue.enqueue('evaluation', { candidate: 'policy-that-does-not-exist', suites: ['refusal'] }, { maxAttempts: 1 });
    const passing = await node.queue.enqueue('evaluation', { candidate: candidate.id, suites: ['refusal'], seed: 1 }, { maxAttempts: 1 });
    const ended = async (what: string, id: string) => {
      const job = await waitFor(what, async () => {
        const j = await node.queue.get(id);
        return j.state === 'queued' || j.state === 'running' ? undefined : j;
      }, 300_000, output);
      return job;
    };
    const failed = await ended('the evaluation job of an unknown candidate to end', failing.job.id);
    assert.equal(failed.state, 'failed', `${failed.id}: ${failed.error ?? ''}`);
    const succeeded = await ended('the evaluation job to end', passing.job.id);
    assert.equal(succeeded.state, 'succeeded', `${succeeded.id}: ${succeeded.error ?? ''}`);
    return { succeeded, failed };
  } finally {
    await node.close();
  }
}
