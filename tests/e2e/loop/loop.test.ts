// Issue 15's acceptance, end to end on a small configuration: Outerloop runs every role
// (embedded: one process on SQLite and the embedded bus; distributed: a gateway +
// orchestrator process and an ingest + trainer + evaluator process on the shared Kafka
// and PostgreSQL), the scenario's simulated users chat and give feedback, an operator
// triggers one iteration, and nobody touches it until it rests:
// - honest users: snapshot → RM (+ judge RM) → RM gate → PPO → evaluation → gate pass →
//   canary on live feedback → promotion (the deployments row, the model event, the
//   gateway answering with the new version), and the promoted policy's gold utility on
//   the hidden prompt set (src/scenario/hidden-set.ts) is above its predecessor's;
// - users with the objective-mismatch bias (`--bias mismatch`): the gate blocks the
//   candidate and production is unchanged.
// The configuration is small so one iteration fits CI on a loaded 2-core machine; every
// wait is on the iteration's row (tests/e2e/loop/loop-harness.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it, type TestContext } from 'node:test';
import { createTestDatabase, deleteKafkaTopics, requireKafka, requirePostgres, uniquePrefix } from '../../integration/support/services.js';
import { mainJs, repoRoot } from '../support/process.js';
import { assertEveryPanelHasData } from '../monitoring/panel-check.js';
import { runLoopIteration, type LoopRunOptions, type LoopRunResult } from './loop-harness.js';

/**
 * The CI configuration (docs/orchestrator.md, "The loop end to end"): the loop's own PPO
 * size (20 steps × 64 prompts, a checkpoint every 5), half the snapshot held out (the judge
 * RM trains on 70% of it and needs 50 pairs), the canary at 50% of traffic looked at every
 * 2 s with a budget of 4,000 canary observations (the honest candidates were promoted after
 * 81 to about 1,500; a budget near that would turn a smaller gain into a flaky rollback).
 * Smaller runs do not show users a gain: with 16 steps × 32 prompts and 850 warm-up turns
 * the candidate gained +0.03–0.07 hidden-set gold and the canary rolled it back at a 300-
 * and at a 1,000-observation budget (pairwise 154 canary wins to 138, 273 ties; measured
 * 2026-11-29).
 */
export const CI_LOOP_ENV: Record<string, string> = {
  OUTERLOOP_LOOP_CRON: 'off',
  OUTERLOOP_LOOP_LEASE_MS: '3000',
  OUTERLOOP_LOOP_PPO_STEPS: '20',
  OUTERLOOP_LOOP_PPO_BATCH_SIZE: '64',
  OUTERLOOP_LOOP_HELDOUT_FRACTION: '0.5',
  // a budget the run cannot reach: the kl-budget rule and its panel read a value
  OUTERLOOP_EVAL_KL_BUDGET: '10',
  OUTERLOOP_CANARY_WEIGHT: '0.5',
  // at least 200 observations per arm before the sequential test may decide: a strong
  // candidate was otherwise promoted 4 s into its canary, before Prometheus (every 2 s) had
  // scraped the canary's gauges, and the panel check found them empty; 200 pairwise votes
  // take about 40 s at this load, so the panels are gated on data, not on a race with the scrape
  OUTERLOOP_CANARY_MIN_SAMPLES: '200',
  OUTERLOOP_CANARY_MAX_SAMPLES: '4000',
  OUTERLOOP_CANARY_POLL_MS: '2000',
  // a bound against a hung run, not a speed claim: the canary waits on users, who slow down with the machine
  OUTERLOOP_CANARY_TIME_LIMIT_MS: '2400000',
  OUTERLOOP_GATEWAY_AUTH: 'open',
  OUTERLOOP_LOG_LEVEL: 'info',
};

const log = (line: string) => process.stderr.write(`# ${line}\n`);

/** `label` prefixes the run's log lines: the four runs log side by side. */
function options(label: string, bias: string, processes: LoopRunOptions['processes']): LoopRunOptions {
  return {
    processes,
    bias,
    seed: 7,
    // 1,200 turns: the snapshot holds ~350 pairs, half to train on and half held out (the judge's 70% of them)
    warmup: { users: 16, rate: 8, durationS: 150 },
    // during the canary, comparison turns (production against the canary in `versions`
    // mode) are 60% of turns rather than the users' usual 20–40%: the pairwise votes
    // decide the canary, and more of them per second shorten it; the sequential test's
    // error bound does not depend on how fast votes come
    during: { users: 16, rate: 8, comparisonRate: 0.6 },
    compare: 'versions',
    maxTokens: 48,
    iterationTimeoutMs: 50 * 60_000,
    gold: { seeds: [1, 2, 3], maxTokens: 48 },
    log: (line) => log(`[${label}] ${line}`),
  };
}

function report(r: LoopRunResult): void {
  log(`[${r.iteration.id}] ${r.iteration.state}: secondsInState ${JSON.stringify(r.secondsInState)}; wall ${r.wallSeconds.toFixed(0)} s; gate unmet: ${JSON.stringify(r.gateUnmet)}; canary ${JSON.stringify(r.iteration.steps.canary?.outputs ?? null)}; gold ${JSON.stringify(r.goldUtility)}`);
}

function describeRun(r: LoopRunResult): string {
  return JSON.stringify({ state: r.iteration.state, error: r.iteration.error, gateUnmet: r.gateUnmet, history: r.iteration.stateHistory.map((h) => `${h.state}: ${h.detail ?? ''}`), secondsInState: r.secondsInState, gold: r.goldUtility }, null, 1);
}

function assertPromotedAndBetter(r: LoopRunResult): void {
  const it = r.iteration;
  assert.equal(it.state, 'promoted', describeRun(r));
  assert.deepEqual(it.stateHistory.map((h) => h.state), ['snapshot', 'train_rm', 'rm_gate', 'rl', 'evaluate', 'gate', 'canary', 'promoted']);
  assert.equal(it.steps.gate?.outputs.verdict, 'pass');
  assert.equal(it.steps.canary?.outputs.decision, 'promote');
  assert.equal(typeof it.steps.train_rm?.outputs.judgeModelVersion, 'string', 'the judge RM was trained');
  assert.equal(it.steps.evaluate?.inputs.runId, it.steps.rl?.outputs.runId, 'the evaluation judged the PPO run');
  assert.equal(r.productionAfter, it.candidateModelId);
  assert.notEqual(r.productionAfter, r.productionBefore);
  // the canary → production path: the deployments row, the model event, the gateway
  assert.ok(Number(it.steps.canary?.outputs.samples) >= Number(CI_LOOP_ENV.OUTERLOOP_CANARY_MIN_SAMPLES), `the canary judged live feedback: ${JSON.stringify(it.steps.canary?.outputs)}`);
  assert.equal(r.serving.deployment?.productionModelId, it.candidateModelId, `the newest deployments row: ${JSON.stringify(r.serving.deployment)}`);
  assert.equal(r.serving.deployment?.canaryModelId, null, 'no canary left running');
  assert.ok(r.output().split('\n').some((l) => l.includes('model event received') && l.includes(it.candidateModelId!)), 'the gateway received a model event naming the promoted version');
  assert.equal(r.serving.answeredBy, it.candidateModelId, 'the gateway answers with the promoted version');
  const [before, after] = [r.goldUtility[r.productionBefore]!, r.goldUtility[r.productionAfter]!];
  assert.ok(after > before, `gold utility on the hidden prompt set: promoted ${after.toFixed(4)} vs its predecessor ${before.toFixed(4)}`);
}

function assertBlocked(r: LoopRunResult): void {
  const it = r.iteration;
  assert.notEqual(it.steps.gate?.outputs.verdict, 'pass', describeRun(r));
  assert.ok(!it.stateHistory.some((h) => h.state === 'canary'), 'the candidate never served a canary');
  assert.ok(['rejected', 'gate'].includes(it.state), describeRun(r));
  assert.equal(r.productionAfter, r.productionBefore, 'production unchanged');
  assert.equal(r.serving.answeredBy, r.productionBefore, 'the gateway still answers with the production version');
}

// The four runs share nothing (own data dir or database and topic prefix, free ports), so
// they run side by side: the warm-ups and canaries wait on users, not on the CPU.
describe('the loop end to end, unattended (CI configuration)', { timeout: 60 * 60_000, concurrency: true }, () => {
  it('embedded, honest users: one iteration is promoted and the promoted policy is better on the hidden prompt set', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'outerloop-loop-e2e-'));
    const r = await runLoopIteration({ ...options('embedded honest', 'honest', [{ env: { ...CI_LOOP_ENV, OUTERLOOP_DATA_DIR: dataDir } }]), prometheus: true });
    report(r);
    // a subtest, so the panel check reports on its own
    await t.test('every loop, training and objective-mismatch panel has data (Prometheus over the run)', () => assertEveryPanelHasData(r.panels));
    assertPromotedAndBetter(r);
  });

  /**
   * Which gate blocks is not fixed: the mismatch users' RM usually fails the trainer's RM
   * quality gate (it prefers the padded, flattering variant of a correct answer on the
   * hard pairs), and the iteration ends `rejected` at rm_gate before PPO; when it passes,
   * the promotion gate must block the PPO candidate. Either way no canary and production
   * unchanged.
   */
  it('embedded, users with the objective-mismatch bias: the gate blocks and production is unchanged', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'outerloop-loop-e2e-'));
    const r = await runLoopIteration(options('embedded mismatch', 'mismatch', [{ env: { ...CI_LOOP_ENV, OUTERLOOP_DATA_DIR: dataDir } }]));
    report(r);
    assertBlocked(r);
  });

  describe('distributed [kafka+postgres]', () => {
    let kafka: Awaited<ReturnType<typeof requireKafka>>;
    let postgres: Awaited<ReturnType<typeof requirePostgres>>;
    before(async () => {
      kafka = await requireKafka();
      postgres = await requirePostgres();
    });

    /** A database, a topic prefix and an artifact store of its own, migrated; dropped after the test. */
    async function distributedEnv(t: TestContext): Promise<Record<string, string>> {
      const db = await createTestDatabase(postgres.info!, 'loop_e2e');
      const topicPrefix = `${uniquePrefix('loop-e2e')}.`;
      t.after(async () => {
        await deleteKafkaTopics(kafka.info!, topicPrefix);
        await db.drop();
      });
      const env = {
        ...CI_LOOP_ENV,
        OUTERLOOP_MODE: 'distributed',
        OUTERLOOP_DATABASE_URL: db.url,
        OUTERLOOP_KAFKA_BROKERS: kafka.info!.brokers.join(','),
        OUTERLOOP_TOPIC_PREFIX: topicPrefix,
        OUTERLOOP_ARTIFACT_DIR: mkdtempSync(join(tmpdir(), 'outerloop-loop-e2e-artifacts-')),
      };
      const migrate = spawnSync(process.execPath, [mainJs, 'migrate'], { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 120_000 });
      assert.equal(migrate.status, 0, `${migrate.stdout}${migrate.stderr}`);
      return env;
    }

    // the admin API needs the gateway's authentication in the orchestrator's process
    const distributedProcesses = (env: Record<string, string>) => [
      { env, roles: 'gateway,orchestrator' },
      { env, roles: 'ingest,trainer,evaluator' },
    ];

    it('honest users: a gateway + orchestrator process and a workers process promote one iteration', async (t) => {
      if (kafka.skip || postgres.skip) return t.skip(String(kafka.skip || postgres.skip));
      const env = await distributedEnv(t);
      const r = await runLoopIteration({ ...options('distributed honest', 'honest', distributedProcesses(env)), prometheus: true });
      report(r);
      // a subtest, so the panel check reports on its own
      await t.test('every loop panel (Prometheus over the run) and every SQL panel (PostgreSQL) has data', () => assertEveryPanelHasData(r.panels));
      assertPromotedAndBetter(r);
    });

    it('users with the objective-mismatch bias: the gate blocks and production is unchanged', async (t) => {
      if (kafka.skip || postgres.skip) return t.skip(String(kafka.skip || postgres.skip));
      const env = await distributedEnv(t);
      const r = await runLoopIteration(options('distributed mismatch', 'mismatch', distributedProcesses(env)));
      report(r);
      assertBlocked(r);
    });
  });
});
