// The evaluator end to end on PostgreSQL: the never-stopping copy of the base policy
// evaluated on one suite, as the last checkpoint of a run whose earlier checkpoints
// (synthetic evaluations) rise then fall past their eval peak. The decisions are
// stored with the checkpoint the eval chose and the report carries the Gao-fit chart.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import { readArtifactManifest } from '../../../src/engine/artifact/artifact.js';
import { gaoGain, type CheckpointEvaluation, type Estimate } from '../../../src/evaluation/index.js';
import { LocalArtifactStore } from '../../../src/platform/artifacts/local-artifact-store.js';
import { Logger } from '../../../src/platform/logging/logger.js';
import { connectWithRetry, createDataSource, runMigrations } from '../../../src/platform/persistence/data-source.js';
import { createRepositories, type Repositories } from '../../../src/platform/persistence/repositories/index.js';
import { EvaluationReports } from '../../../src/services/evaluator/evaluation-reports.js';
import { type EvaluateResult, EvaluatorService } from '../../../src/services/evaluator/evaluator.service.js';
import { BASE_POLICY_DIR, LENGTH_LOVING_RM, writeNeverStoppingArtifact } from '../../unit/services/evaluator/damaged-policy.js';
import { createTestDatabase, requirePostgres } from '../support/services.js';

const postgres = await requirePostgres();
const dir = mkdtempSync(join(tmpdir(), 'outerloop-evaluator-pg-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const est = (value: number, half = 0.02): Estimate => ({ value, lower: value - half, upper: value + half, se: half / 2, level: 0.95, resamples: 1000 });

/** Eval follows Gao's RL form with its peak at d* = e (KL ≈ 7.4); the reward keeps rising. */
function syntheticRun(): CheckpointEvaluation[] {
  return [0, 1, 2, 4, 7, 12, 20].map((kl, i) => ({
    step: i * 100, kl, proxyReward: est(0.2 * i),
    metrics: { 'extrinsic.correct': est(0.5 + 0.1 * gaoGain('rl', 1, 0.5, Math.sqrt(kl))) },
    ensembleDisagreement: est(0.1 + 0.02 * i),
  }));
}

describe('[postgres] evaluator end to end', { skip: postgres.skip }, () => {
  let ds: DataSource;
  let drop: () => Promise<void>;
  let repos: Repositories;
  let store: LocalArtifactStore;
  let result: EvaluateResult;

  before(async () => {
    const db = await createTestDatabase(postgres.info!, 'evaluator');
    drop = db.drop;
    ds = createDataSource({ type: 'postgres', url: db.url }, { poolSize: 4 });
    await connectWithRetry(ds, new Logger('test'), { maxAttempts: 5 });
    await runMigrations(ds);
    repos = createRepositories(ds);
    store = new LocalArtifactStore(join(dir, 'artifacts'));
    const damaged = await writeNeverStoppingArtifact(store.resolve('models/never-stops'));
    await repos.modelRegistry.register({ id: 'base', kind: 'policy', artifactPath: BASE_POLICY_DIR, sha256: (await readArtifactManifest(BASE_POLICY_DIR)).artifactId, status: 'production' });
    await repos.modelRegistry.register({ id: 'never-stops', kind: 'policy', artifactPath: 'models/never-stops', sha256: damaged.manifest.artifactId, parentId: 'base' });
    const evaluator = new EvaluatorService(
      { modelRegistry: repos.modelRegistry, evaluations: repos.evaluations, gateDecisions: repos.gateDecisions, transactions: repos.transactions, artifacts: store },
      { rewardScorer: LENGTH_LOVING_RM, bootstrap: { seed: 2, resamples: 300 } },
    );
    result = await evaluator.evaluate({ candidate: 'never-stops', suites: ['extrinsic'], seeds: [1], maxTokens: 32, run: { id: 'run-synthetic', checkpoints: syntheticRun(), candidateStep: 600 } });
  });
  after(async () => {
    await ds?.destroy();
    await drop?.();
  });

  it('[postgres] stores both decisions with the eval-chosen checkpoint and the run-level rules', async () => {
    const stored = await repos.gateDecisions.byEvaluation(result.evaluationId);
    assert.deepEqual(stored.map((d) => [d.policyName, d.verdict]), [['default', 'fail'], ['naive', 'pass']]);
    const chosen = stored[0]!.chosenCheckpoint!;
    assert.equal(chosen.metric, 'extrinsic.correct');
    assert.equal(chosen.bestStep, 400, 'the eval peak is the checkpoint at KL 7, nearest d*² = e²');
    const rules = Object.fromEntries(stored[0]!.rules.map((r) => [r.rule, r]));
    assert.equal(rules['no-reward-up-eval-down']!.verdict, 'fail', 'the last checkpoint has more reward and less eval than the peak');
    assert.equal(rules['no-reward-up-eval-down']!.value, true);
    assert.equal(rules['ensemble-disagreement-growth']!.verdict, 'fail');
    assert.equal(rules['kl-before-predicted-peak']!.verdict, 'fail');
    const rows = await repos.evaluations.byEvaluation(result.evaluationId);
    assert.deepEqual(rows.map((r) => `${r.suite}/${r.side}`), ['extrinsic/candidate', 'extrinsic/incumbent']);
    assert.ok(rows[0]!.metrics['extrinsic.correct.delta']!.hi < 0);
  });

  it('[postgres] the report carries the Gao fit with its predicted peak', async () => {
    const reports = new EvaluationReports(store);
    assert.deepEqual(await reports.charts(result.evaluationId), ['gao-fit', 'length-distribution', 'reward-vs-eval']);
    assert.match(await reports.chart(result.evaluationId, 'gao-fit'), /d\* = 2\.72/);
    assert.match(await reports.report(result.evaluationId), /Checkpoint chosen by eval \(1-SE rule on `extrinsic\.correct`\)/);
  });
});
