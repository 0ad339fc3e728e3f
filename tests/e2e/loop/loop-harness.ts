// One unattended iteration of the outer loop against running Outerloop processes, as an
// operator would run it: simulated users (the scenario's load generator) chat and give
// feedback through the gateway, an operator triggers an iteration over the admin API,
// the users keep going while it runs (the canary needs their live feedback), and the
// harness waits on the iteration's row until it rests (a terminal state, or a gate
// waiting for review). Then it measures what the users cannot see: the gold utility of
// the production policy before and after, on the scenario's hidden prompt set (which no
// gate, eval suite or evaluator reads), by sampling both artifacts with the same seeds.
// After a promotion it checks the canary → production path end to end: the deployments
// row, the registry, and the gateway answering with the promoted version. With
// `prometheus`, a real Prometheus scrapes every process and, once the iteration rests,
// every panel query of the loop dashboards is asked over the run (and every SQL panel
// run against PostgreSQL): tests/e2e/monitoring/panel-check.ts.
//
// Used by the acceptance e2e (tests/e2e/loop/loop.test.ts, tiny configuration) and the
// bench (tests/bench/loop.bench.ts, the reference configuration). Every wait gates on the
// iteration's state, never on a sleep.
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import pg from 'pg';
import { readArtifact } from '../../../src/engine/artifact/artifact.js';
import { BatchEngine } from '../../../src/engine/runtime/batch-engine.js';
import { sampleForEval } from '../../../src/evaluation/sampling/index.js';
import { buildHiddenPromptSet } from '../../../src/scenario/hidden-set.js';
import { goldUtility } from '../../../src/scenario/gold-utility.js';
import { runLoad, type LoadSummary } from '../../../src/scenario/loadgen/run-load.js';
import { parseBiasSpec } from '../../../src/scenario/users/bias-spec.js';
import { makePersona, makePopulation, type Persona } from '../../../src/scenario/users/persona.js';
import { findBinary } from '../../unit/deploy/promtool.js';
import { loopPanelReport, type PanelReport } from '../monitoring/panel-check.js';
import { scrapeHealth, startPrometheus, type RunningPrometheus } from '../monitoring/support.js';
import { getStatus, repoRoot, startOuterloop, waitFor, type RunningProcess } from '../support/process.js';

export interface IterationView {
  id: string;
  state: string;
  stateHistory: Array<{ state: string; at: string; detail?: string }>;
  steps: Record<string, { jobId?: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> } | undefined>;
  candidateModelId: string | null;
  error: string | null;
}

export interface LoopRunOptions {
  /** `start` processes to run: each entry is its env (+ roles); the first must run the gateway */
  processes: Array<{ env: Record<string, string>; roles?: string }>;
  /** the simulated users' bias preset or spec (`honest`, `mismatch`, …) */
  bias: string;
  seed: number;
  /** load before the trigger: the preference data the snapshot takes */
  warmup: { users: number; rate: number; durationS: number };
  /**
   * load while the iteration runs (the canary's live feedback); `comparisonRate` sets
   * every user's share of comparison turns (unset: the population's own habits, 0.2–0.4)
   */
  during: { users: number; rate: number; comparisonRate?: number };
  /** 'versions': comparison turns pit production against the canary (pairwise votes) */
  compare?: 'samples' | 'versions';
  maxTokens?: number;
  iterationTimeoutMs: number;
  /** gold utility on the hidden prompt set: sampling seeds and length */
  gold?: { seeds: number[]; maxTokens: number };
  /**
   * Run a real Prometheus (Debian's binary) scraping every process with the repository's
   * alert rules; once the iteration rests, ask it for every PromQL query of the loop
   * dashboards over the run and, on PostgreSQL, run every SQL panel query (`panels` in
   * the result).
   */
  prometheus?: boolean;
  log: (line: string) => void;
}

export interface LoopRunResult {
  iteration: IterationView;
  /** seconds the iteration spent in each state it left (and in the one it rests in, until it came to rest) */
  secondsInState: Record<string, number>;
  wallSeconds: number;
  warmup: LoadSummary;
  during: LoadSummary;
  productionBefore: string;
  productionAfter: string;
  /** mean gold utility on the hidden prompt set, per policy version measured */
  goldUtility: Record<string, number>;
  /** what the gateway serves once the iteration rests: the deployment row and the version a chat completion names */
  serving: { deployment: DeploymentView | null; answeredBy: string };
  /** the configured gate's rules that did not pass (fail, missing), as `rule: value vs threshold (verdict)` */
  gateUnmet: string[];
  /** with `prometheus`: the dashboard queries that had data over the run and the empty ones (tests/e2e/monitoring/panel-check.ts) */
  panels?: PanelReport;
  output: () => string;
}

/** A gate waiting for an operator rests too: the harness reports it rather than waiting for a human. */
export function isAtRest(it: IterationView): boolean {
  if (['promoted', 'rolled_back', 'rejected', 'failed', 'paused'].includes(it.state)) return true;
  const gate = it.steps.gate?.outputs;
  return it.state === 'gate' && gate?.verdict === 'needs_review' && gate.review === undefined;
}

export function secondsInStates(it: IterationView, restedAt: Date): Record<string, number> {
  const out: Record<string, number> = {};
  it.stateHistory.forEach((h, i) => {
    const end = i + 1 < it.stateHistory.length ? Date.parse(it.stateHistory[i + 1]!.at) : restedAt.getTime();
    if (i + 1 < it.stateHistory.length || !isTerminal(h.state)) out[h.state] = (out[h.state] ?? 0) + Math.max(0, end - Date.parse(h.at)) / 1000;
  });
  return out;
}

const isTerminal = (state: string) => ['promoted', 'rolled_back', 'rejected', 'failed'].includes(state);

async function api<T>(base: string, path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(`${base}${path}`, { ...init, headers: { 'content-type': 'application/json', ...(init?.headers ?? {}) } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

interface ListedVersion {
  version: string;
  status: string;
  artifactPath: string;
  serving: boolean;
}

async function productionOf(base: string): Promise<ListedVersion> {
  const listed = await api<{ data?: ListedVersion[] } | ListedVersion[]>(base, '/v1/admin/models');
  const rows = Array.isArray(listed) ? listed : (listed.data ?? []);
  const serving = rows.find((r) => r.serving);
  if (!serving) throw new Error(`no policy version is serving: ${JSON.stringify(rows)}`);
  return serving;
}

async function versionOf(base: string, version: string): Promise<ListedVersion> {
  const listed = await api<{ data?: ListedVersion[] } | ListedVersion[]>(base, '/v1/admin/models');
  const rows = Array.isArray(listed) ? listed : (listed.data ?? []);
  const row = rows.find((r) => r.version === version);
  if (!row) throw new Error(`policy version ${version} is not listed: ${JSON.stringify(rows.map((r) => r.version))}`);
  return row;
}

function artifactDirOf(path: string, artifactRoot: string): string {
  if (isAbsolute(path)) return path;
  const inStore = join(artifactRoot, path);
  return existsSync(inStore) ? inStore : join(repoRoot, path);
}

/**
 * Mean gold utility of a policy artifact on the scenario's hidden prompt set
 * (src/scenario/hidden-set.ts: prompts no gate, eval suite or evaluator reads), each
 * answered once per seed at temperature 1. The same seeds on both policies make the
 * comparison paired.
 */
export async function hiddenSetGoldUtility(artifactDir: string, seeds: readonly number[], maxTokens: number): Promise<number> {
  const artifact = await readArtifact(artifactDir);
  const engine = await BatchEngine.fromParameters(artifact.params, artifact.tokenizer, { maxBatch: 64 });
  try {
    const prompts = buildHiddenPromptSet();
    const byId = new Map(prompts.map((p) => [p.id, p]));
    const samples = await sampleForEval(engine, artifact.tokenizer, prompts, { seeds, maxTokens, temperature: 1 });
    let sum = 0;
    for (const s of samples) sum += goldUtility(byId.get(s.promptId)!.messages, s.response);
    return sum / samples.length;
  } finally {
    await engine.close();
  }
}

export interface DeploymentView {
  id: string;
  productionModelId: string;
  canaryModelId: string | null;
  canaryWeight: number;
  reason: string;
}

/** The version the gateway answers a fresh user's chat completion with (`model` in the response). */
async function answeredBy(base: string): Promise<string> {
  const res = await api<{ model: string }>(base, '/v1/chat/completions', {
    method: 'POST',
    body: JSON.stringify({ model: 'outerloop', user: 'loop-e2e-probe', max_tokens: 8, messages: [{ role: 'user', content: 'What is 2 plus 3?' }] }),
  });
  return res.model;
}

interface GateDecisionView {
  id: string;
  rules: Array<{ rule: string; metric?: string; value: unknown; threshold: unknown; verdict: string; statistic?: string; detail?: string }>;
}

/** The configured gate's decision on this iteration's evaluation (the decision id the evaluate step recorded): null without one, a string when it is not found. */
async function gateDecisionOf(base: string, it: IterationView): Promise<GateDecisionView | string | null> {
  const id = it.steps.evaluate?.outputs.gateDecisionId;
  if (typeof id !== 'string') return null;
  const { data } = await api<{ data: GateDecisionView[] }>(base, '/v1/admin/gate-decisions?limit=200');
  return data.find((d) => d.id === id) ?? `gate decision ${id} not found`;
}

/** The configured gate's rules that did not pass, from its decision (gateDecisionOf). */
function unmetGateRules(decision: GateDecisionView | string | null): string[] {
  if (decision === null) return [];
  if (typeof decision === 'string') return [decision];
  return decision.rules
    .filter((r) => r.verdict !== 'pass' && r.verdict !== 'not_applicable')
    .map((r) => `${r.rule}: ${r.statistic ?? 'value'} ${JSON.stringify(r.value)} vs ${JSON.stringify(r.threshold)} (${r.verdict}${r.detail ? `: ${r.detail.slice(0, 120)}` : ''})`);
}

/**
 * Every dashboard query once Prometheus has scraped the iteration at rest: the PromQL of
 * the loop dashboards over [since, now] and, when the processes run on PostgreSQL, the
 * SQL of every dashboard.
 */
async function checkPanels(prom: RunningPrometheus, decision: GateDecisionView | string | null, it: IterationView, since: number, o: LoopRunOptions, output: () => string): Promise<PanelReport> {
  // what the evaluator found not applicable to this candidate, and why (its scorecard gauge is absent)
  const notApplicable = Object.fromEntries(
    (typeof decision === 'object' && decision ? decision.rules : []).filter((r) => r.verdict === 'not_applicable' && r.metric).map((r) => [r.metric!, r.detail ?? 'not applicable']),
  );
  // every process scraped after the iteration came to rest: the evaluator's scorecard
  // gauges live in its own process (distributed), set before the orchestrator's state moves on
  const restedAt = Date.now() / 1000;
  await waitFor(
    `Prometheus to scrape every process after the iteration came to rest (${it.state})`,
    async () => {
      const fresh = await prom.query(`timestamp(up{job="outerloop"} == 1) > ${restedAt}`);
      const state = await prom.query(`max(outerloop_loop_iteration_state{state="${it.state}"}) == 1`);
      return fresh.length === o.processes.length && state.length ? true : undefined;
    },
    120_000,
    () => `${prom.output()}\n${output().slice(-3000)}`,
  ).catch(async (err: Error) => {
    throw new Error(`${err.message.split('\n')[0]}; targets: ${await scrapeHealth(prom)}\n${output().slice(-3000)}`);
  });
  const url = o.processes[0]!.env.OUTERLOOP_DATABASE_URL;
  const client = url?.startsWith('postgres') ? new pg.Client({ connectionString: url }) : null;
  try {
    await client?.connect();
    const report = await loopPanelReport(prom, client, { start: since, end: Date.now() / 1000, states: it.stateHistory.map((h) => h.state), notApplicable });
    o.log(`panels with data (${report.withData.length}): ${report.withData.join('; ')}`);
    o.log(`panels empty: ${report.empty.length ? report.empty.map((e) => `${e.query} (${e.reason ?? 'UNEXPLAINED'})`).join('; ') : 'none'}`);
    return report;
  } finally {
    await client?.end();
  }
}

export async function runLoopIteration(o: LoopRunOptions): Promise<LoopRunResult> {
  const started: RunningProcess[] = [];
  const output = () => started.map((p) => p.output()).join('\n');
  const t0 = Date.now();
  let prom: RunningPrometheus | null = null;
  try {
    for (const p of o.processes) started.push(await startOuterloop(['start', ...(p.roles ? ['--roles', p.roles] : [])], p.env));
    for (const p of started) await waitFor(`${p.url} /readyz 200`, async () => ((await getStatus(`${p.url}/readyz`)) === 200 ? true : undefined), 180_000, output);
    if (o.prometheus) {
      const bin = findBinary('prometheus');
      if (!bin) throw new Error('prometheus is not installed: run bash tests/infra/prometheus.sh (apt-get install -y prometheus)');
      // 5 s: a trainer's process answers a scrape between training steps
      prom = await startPrometheus(bin, started.map((p) => ({ address: new URL(p.url).host })), 5);
    }
    const promSince = Date.now() / 1000;
    const base = started[0]!.url;
    const before = await productionOf(base);
    o.log(`production before: ${before.version}`);

    const load = (users: number, rate: number, durationS: number, signal?: AbortSignal, seed = o.seed, personas?: Persona[]) =>
      runLoad({ baseUrl: base, users, rate, durationS, bias: o.bias, seed, maxTokens: o.maxTokens ?? 48, compare: o.compare, signal, progressIntervalS: 0, log: o.log, ...(personas ? { personas } : {}) });
    o.log(`warm-up: ${o.warmup.users} ${o.bias} users at ≤ ${o.warmup.rate} turns/s for ${o.warmup.durationS} s`);
    const warmup = await load(o.warmup.users, o.warmup.rate, o.warmup.durationS);
    const triggered = await api<IterationView>(base, '/v1/admin/loop/iterations', { method: 'POST', body: '{}' });
    o.log(`warm-up done: ${warmup.completedTurns} turns, feedback ${JSON.stringify(warmup.feedbackByType)}; iteration ${triggered.id} triggered`);
    const stop = new AbortController();
    // users keep coming while the iteration runs, so the canary has live feedback
    const { comparisonRate } = o.during;
    const duringPersonas = comparisonRate === undefined
      ? undefined
      : makePopulation(o.during.users, parseBiasSpec(o.bias)).map(({ id, biases, ...habits }) => makePersona(id, biases, { ...habits, comparisonRate }));
    const during = load(o.during.users, o.during.rate, 24 * 3600, stop.signal, o.seed + 1, duringPersonas);
    let last = '';
    let iteration: IterationView;
    try {
      iteration = await waitFor(
        `iteration ${triggered.id} to come to rest`,
        async () => {
          const shown = await api<{ iteration: IterationView }>(base, `/v1/admin/loop/iterations/${triggered.id}`);
          const it = shown.iteration;
          if (it.state !== last) o.log(`iteration ${it.id}: ${(last = it.state)} (${it.stateHistory.at(-1)?.detail ?? ''})`);
          return isAtRest(it) ? it : undefined;
        },
        o.iterationTimeoutMs,
        () => output().slice(-6000),
      );
    } finally {
      stop.abort();
    }
    const restedAt = new Date();
    const duringSummary = await during;
    const decision = await gateDecisionOf(base, iteration);
    const panels = prom ? await checkPanels(prom, decision, iteration, promSince, o, output) : undefined;
    const gateUnmet = unmetGateRules(decision);
    const after = await productionOf(base);
    // the gateway swaps on the model event: after a promotion, wait for it to answer with the promoted version
    let lastAnswer = '';
    const answer = iteration.state === 'promoted' && iteration.candidateModelId
      ? await waitFor(`the gateway to answer with the promoted ${iteration.candidateModelId}`, async () => {
        lastAnswer = await answeredBy(base);
        return lastAnswer === iteration.candidateModelId ? lastAnswer : undefined;
      }, 60_000, () => `last answered by ${lastAnswer}\n${output().slice(-4000)}`)
      : await answeredBy(base);
    const serving = { deployment: (await api<{ deployment: DeploymentView | null }>(base, '/v1/admin/deployment-overview')).deployment, answeredBy: answer };
    o.log(`serving: deployment ${JSON.stringify(serving.deployment)}; a chat completion answered by ${serving.answeredBy}`);
    const goldUtility: Record<string, number> = {};
    if (o.gold) {
      const artifactRoot = o.processes[0]!.env.OUTERLOOP_ARTIFACT_DIR ?? join(o.processes[0]!.env.OUTERLOOP_DATA_DIR ?? '', 'artifacts');
      const versions = [...new Set([before.version, after.version, ...(iteration.candidateModelId ? [iteration.candidateModelId] : [])])];
      for (const v of versions) {
        const row = v === before.version ? before : await versionOf(base, v);
        goldUtility[v] = await hiddenSetGoldUtility(artifactDirOf(row.artifactPath, artifactRoot), o.gold.seeds, o.gold.maxTokens);
        o.log(`hidden-set gold utility of ${v}: ${goldUtility[v]!.toFixed(4)}`);
      }
    }
    return {
      iteration,
      secondsInState: secondsInStates(iteration, restedAt),
      wallSeconds: (restedAt.getTime() - t0) / 1000,
      warmup,
      during: duringSummary,
      productionBefore: before.version,
      productionAfter: after.version,
      goldUtility,
      serving,
      gateUnmet,
      ...(panels ? { panels } : {}),
      output,
    };
  } finally {
    await prom?.stop();
    for (const p of started.reverse()) await p.stop('SIGTERM');
  }
}
