// The evaluator end to end on SQLite: the shipped base policy (production) against a
// damaged copy that never stops talking. The reference gate fails it, naming the rules;
// the naive gate, reading a length-loving RM, passes it — both verdicts are stored side
// by side, with the evaluation rows, the report and its charts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import { readArtifactManifest } from '../../../../src/engine/artifact/artifact.js';
import { gateMetricCatalog, parseGatePolicy } from '../../../../src/evaluation/index.js';
import { LocalArtifactStore } from '../../../../src/platform/artifacts/local-artifact-store.js';
import { createDataSource, runMigrations } from '../../../../src/platform/persistence/data-source.js';
import { createRepositories, type Repositories } from '../../../../src/platform/persistence/repositories/index.js';
import { scenarioSuiteConfigs } from '../../../../src/scenario/eval-suites.js';
import { EvaluationReportError, EvaluationReports } from '../../../../src/services/evaluator/evaluation-reports.js';
import { type EvaluateResult, EvaluatorService, replayGatePolicy } from '../../../../src/services/evaluator/evaluator.service.js';
import { BASE_POLICY_DIR, LENGTH_LOVING_RM, writeNeverStoppingArtifact } from './damaged-policy.js';

const dir = mkdtempSync(join(tmpdir(), 'outerloop-evaluator-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('evaluator: base policy vs a damaged copy', () => {
  let ds: DataSource;
  let repos: Repositories;
  let store: LocalArtifactStore;
  let result: EvaluateResult;

  before(async () => {
    ds = createDataSource({ type: 'better-sqlite3', path: join(dir, 'db.sqlite') });
    await ds.initialize();
    await runMigrations(ds);
    repos = createRepositories(ds);
    store = new LocalArtifactStore(join(dir, 'artifacts'));
    const damaged = await writeNeverStoppingArtifact(store.resolve('models/never-stops'));
    const baseManifest = await readArtifactManifest(BASE_POLICY_DIR);
    await repos.modelRegistry.register({ id: 'base', kind: 'policy', artifactPath: BASE_POLICY_DIR, sha256: baseManifest.artifactId, status: 'production' });
    await repos.modelRegistry.register({ id: 'never-stops', kind: 'policy', artifactPath: 'models/never-stops', sha256: damaged.manifest.artifactId, parentId: 'base' });
    const evaluator = new EvaluatorService(
      { modelRegistry: repos.modelRegistry, evaluations: repos.evaluations, gateDecisions: repos.gateDecisions, transactions: repos.transactions, artifacts: store },
      { rewardScorer: LENGTH_LOVING_RM, bootstrap: { seed: 3, resamples: 300 } },
    );
    result = await evaluator.evaluate({ candidate: 'never-stops', seeds: [1], maxTokens: 40 });
  });
  after(async () => {
    await ds?.destroy();
  });

  it('the reference gate fails the damaged policy naming its rules; the naive gate passes it on the biased reward', () => {
    const [reference, naive] = result.decisions;
    assert.equal(reference!.policyName, 'default');
    assert.equal(reference!.verdict, 'fail');
    const failing = reference!.rules.filter((r) => r.verdict === 'fail').map((r) => r.rule);
    for (const rule of ['extrinsic-not-worse', 'length-not-inflated', 'length-controlled-gain']) assert.ok(failing.includes(rule), `${rule} should fail; failing: ${failing.join(', ')}`);
    assert.equal(naive!.policyName, 'naive');
    assert.equal(naive!.verdict, 'pass');
    const delta = result.evaluation.comparisons[0]!.deltas['extrinsic.length.words.mean.delta']!;
    assert.ok(delta.lower > 6, `the damaged policy is longer: Δ words ${delta.value}`);
  });

  it('stores every suite for both sides and both decisions, with their inputs, incumbent defaulting to production', async () => {
    const rows = await repos.evaluations.byEvaluation(result.evaluationId);
    assert.deepEqual(rows.map((r) => `${r.suite}/${r.side}/${r.modelVersionId}`), [
      'diversity/candidate/never-stops', 'diversity/incumbent/base', 'extrinsic/candidate/never-stops', 'extrinsic/incumbent/base',
      'refusal/candidate/never-stops', 'refusal/incumbent/base',
    ]);
    const ext = rows.find((r) => r.suite === 'extrinsic' && r.side === 'candidate')!;
    const m = ext.metrics['extrinsic.correct.delta']!;
    assert.ok(m.lo <= m.value && m.value <= m.hi && m.level === 0.95);
    assert.equal(ext.reportPath, result.reportPath);
    const stored = await repos.gateDecisions.byEvaluation(result.evaluationId);
    assert.deepEqual(stored.map((d) => [d.policyName, d.verdict]), [['default', 'fail'], ['naive', 'pass']]);
    // what no one measured is missing, never a silent pass
    assert.ok(stored[0]!.missing!.includes('judge.lengthControlledWinRate'));
    const notMeasured = stored[0]!.rules.find((r) => r.rule === 'judge-win-rate')!;
    assert.equal(notMeasured.verdict, 'missing');
    assert.ok(stored[0]!.inputs!['proxyReward.delta'], 'the inputs keep the proxy reward for replays');
  });

  it('a policy replayed over the stored decisions shows which verdicts would flip', async () => {
    const stored = await repos.gateDecisions.byEvaluation(result.evaluationId);
    const lengthOnly = parseGatePolicy({ name: 'length-only', rules: [{ metric: 'extrinsic.length.words.mean.delta', max: 6 }] }, gateMetricCatalog(scenarioSuiteConfigs()));
    const dry = replayGatePolicy(lengthOnly, stored.filter((d) => d.policyName === 'naive'));
    assert.equal(dry.flips.length, 1);
    assert.equal(dry.flips[0]!.before, 'pass');
    assert.equal(dry.flips[0]!.after, 'fail');
  });

  it('writes the report and its SVG charts into the artifact store, and serves them by evaluation id', async () => {
    const reports = new EvaluationReports(store);
    const md = await reports.report(result.evaluationId);
    assert.match(md, /\| default \| \*\*fail\*\* \|/);
    assert.match(md, /\| naive \| \*\*pass\*\* \|/);
    assert.match(md, /extrinsic-not-worse/);
    assert.deepEqual(await reports.charts(result.evaluationId), ['length-distribution', 'reward-vs-eval']);
    for (const name of ['length-distribution', 'reward-vs-eval']) {
      const svg = await reports.chart(result.evaluationId, name);
      assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>$/);
      assert.equal((svg.match(/<svg\b/g) ?? []).length, (svg.match(/<\/svg>/g) ?? []).length);
    }
    assert.match(await reports.chart(result.evaluationId, 'length-distribution'), /response length \(tokens\)/);
    await assert.rejects(reports.chart(result.evaluationId, '../../etc'), (e: unknown) => e instanceof EvaluationReportError && e.code === 'bad_request');
    await assert.rejects(reports.report('eval-000000000000000000000000'), (e: unknown) => e instanceof EvaluationReportError && e.code === 'not_found');
  });
});
