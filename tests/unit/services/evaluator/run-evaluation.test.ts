// Run evaluation through the `evaluation` job, on SQLite: a PPO run on file whose two
// checkpoints are a lightly perturbed copy of the base policy (step 1) and a copy that
// never stops talking (step 2), optimised against a length-loving RM. The reward rises
// from step 1 to step 2 while the task's own checks fall, so the job must choose step 1
// by eval (never the higher-reward step 2), register it as a policy version the loop can
// deploy, and judge it with every piece of evidence the reference gate reads: the run's
// curve, the judge RM, the RM quality gate and the cumulative KL budget.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import { readArtifact, writeArtifact } from '../../../../src/engine/artifact/artifact.js';
import { ParameterSet } from '../../../../src/engine/gpt/config.js';
import { Rng } from '../../../../src/engine/rng.js';
import type { RewardScorer } from '../../../../src/evaluation/sampling/index.js';
import { LocalArtifactStore } from '../../../../src/platform/artifacts/local-artifact-store.js';
import { JobHandlers, type JobContext } from '../../../../src/platform/jobs/job-handlers.js';
import { Logger } from '../../../../src/platform/logging/logger.js';
import { createDataSource, runMigrations } from '../../../../src/platform/persistence/data-source.js';
import { createRepositories, type Repositories } from '../../../../src/platform/persistence/repositories/index.js';
import { EvaluationJobHandler } from '../../../../src/services/evaluator/evaluation-job.handler.js';
import { EvaluatorService } from '../../../../src/services/evaluator/evaluator.service.js';
import { checkpointStepsToEvaluate } from '../../../../src/services/evaluator/run-evaluation.js';
import { BASE_POLICY_DIR, LENGTH_LOVING_RM, neverStoppingCopy } from './damaged-policy.js';

const dir = mkdtempSync(join(tmpdir(), 'outerloop-run-eval-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A judge that prefers short answers: the opposite of the run's RM, so the two can't be confused. */
const SHORT_LOVING_JUDGE: RewardScorer = { id: 'short-loving-judge', score: async (rows) => ({ rewards: rows.map((r) => -r.response.split(/\s+/).filter(Boolean).length / 10) }) };

describe('the evaluation job with runId: run evaluation', () => {
  let ds: DataSource;
  let repos: Repositories;
  let store: LocalArtifactStore;
  let result: Record<string, unknown>;
  const scorerRequests: string[] = [];

  before(async () => {
    ds = createDataSource({ type: 'better-sqlite3', path: join(dir, 'db.sqlite') });
    await ds.initialize();
    await runMigrations(ds);
    repos = createRepositories(ds);
    store = new LocalArtifactStore(join(dir, 'artifacts'));
    const base = await readArtifact(BASE_POLICY_DIR);
    const rng = new Rng(5);
    const perturbed = new ParameterSet(base.config, Float32Array.from(base.params.data, (x) => x + 0.002 * rng.normal()));
    const meta = (step: number) => ({ kind: 'policy' as const, parentArtifactId: base.manifest.artifactId, createdAt: '2026-11-29T00:00:00.000Z', notes: { step } });
    const runPath = 'checkpoints/ppo/ppo-test-run';
    await writeArtifact(store.resolve(`${runPath}/step-000001`), { config: base.config, params: perturbed, tokenizer: base.tokenizer, meta: meta(1), paramsBlob: false });
    const last = await writeArtifact(store.resolve(`${runPath}/step-000002`), { config: base.config, params: neverStoppingCopy(base), tokenizer: base.tokenizer, meta: meta(2), paramsBlob: false });

    await repos.modelRegistry.register({ id: 'base', kind: 'policy', artifactPath: BASE_POLICY_DIR, sha256: base.manifest.artifactId, status: 'production' });
    await repos.modelRegistry.register({ id: 'rm-1', kind: 'reward', artifactPath: 'models/rm-1', sha256: 'a'.repeat(64), metrics: { qualityGate: { verdict: 'pass', rules: [] } } });
    await repos.modelRegistry.register({ id: 'judge-1', kind: 'reward', artifactPath: 'models/judge-1', sha256: 'b'.repeat(64), metrics: { judge: true } });
    await repos.training.startRun({ id: 'ppo-test-run', kind: 'ppo', config: { rewardModelVersion: 'rm-1' }, baseModelId: 'base', datasetSnapshotId: null, seed: 1 });
    await repos.training.recordCheckpoint({ id: 'ppo-test-run:step-1', runId: 'ppo-test-run', step: 1, metrics: {}, artifactPath: `${runPath}/step-000001` });
    await repos.training.recordCheckpoint({ id: 'ppo-test-run:step-2', runId: 'ppo-test-run', step: 2, metrics: {}, artifactPath: `${runPath}/step-000002` });
    // the PPO job registers the run's last checkpoint: that is the candidate the loop names
    await repos.modelRegistry.register({ id: 'policy-last', kind: 'policy', parentId: 'base', artifactPath: `${runPath}/step-000002`, sha256: last.artifactId, trainingRunId: 'ppo-test-run' });

    const evaluator = new EvaluatorService(
      { modelRegistry: repos.modelRegistry, evaluations: repos.evaluations, gateDecisions: repos.gateDecisions, transactions: repos.transactions, artifacts: store, training: repos.training },
      { bootstrap: { seed: 3, resamples: 300 }, klBudget: 1000 },
    );
    const handlers = new JobHandlers();
    const provider = { forVersion: async (id: string) => { scorerRequests.push(id); return id === 'judge-1' ? SHORT_LOVING_JUDGE : LENGTH_LOVING_RM; } };
    new EvaluationJobHandler(handlers, evaluator, provider).onModuleInit();
    const ctx = {
      job: { id: 'j1', kind: 'evaluation', params: { candidate: 'policy-last', suites: ['extrinsic', 'refusal', 'diversity'], runId: 'ppo-test-run', judgeModelVersion: 'judge-1', seed: 0 }, idempotencyKey: null, maxAttempts: 3 },
      attempt: 1, signal: new AbortController().signal, checkpoint: { prefix: 'jobs/j1/' }, progress: async () => {}, log: new Logger('test'),
    } as unknown as JobContext<'evaluation'>;
    result = (await handlers.get('evaluation')!(ctx)) as Record<string, unknown>;
  });
  after(async () => {
    await ds?.destroy();
  });

  it('chooses the checkpoint by eval, not by reward, and registers it as a deployable policy version', async () => {
    assert.equal(result.chosenStep, 1);
    assert.equal(result.checkpointsEvaluated, 3, 'the reference (step 0) and both checkpoints');
    const chosen = await repos.modelRegistry.get(result.chosenCandidate as string);
    assert.ok(chosen, 'the chosen checkpoint is a registered model version');
    assert.equal(chosen.kind, 'policy');
    assert.equal(chosen.artifactPath, 'checkpoints/ppo/ppo-test-run/step-000001');
    assert.equal(chosen.parentId, 'base');
    assert.equal(chosen.trainingRunId, 'ppo-test-run');
    assert.deepEqual(scorerRequests.sort(), ['judge-1', 'rm-1'], 'the run\'s RM is read from the run, the judge from the job');
  });

  it('returns what the loop reads: the configured verdict, its stored decision, each policy\'s verdict', async () => {
    assert.ok(['pass', 'fail', 'needs_review'].includes(result.verdict as string));
    const stored = await repos.gateDecisions.byEvaluation(result.evaluationId as string);
    const configured = stored.find((d) => d.id === result.gateDecisionId);
    assert.ok(configured, 'gateDecisionId names a stored decision');
    assert.equal(configured.policyName, 'default');
    assert.equal(configured.verdict, result.verdict);
    assert.equal(configured.candidateModelId, result.chosenCandidate);
    assert.equal((configured.chosenCheckpoint as { step?: number } | null)?.step, 1);
    assert.deepEqual(Object.keys(result.verdicts as object), ['default', 'naive']);
  });

  it('supplies every piece of run evidence: none of the run, judge, RM-gate or KL-budget rules reads "missing"', async () => {
    const stored = await repos.gateDecisions.byEvaluation(result.evaluationId as string);
    const rules = new Map(stored.find((d) => d.policyName === 'default')!.rules.map((r) => [r.rule, r]));
    for (const rule of ['kl-before-predicted-peak', 'kl-budget', 'no-reward-up-eval-down', 'rm-quality-gate', 'judge-win-rate']) {
      const r = rules.get(rule)!;
      assert.ok(r.verdict === 'pass' || r.verdict === 'fail' || (rule === 'kl-before-predicted-peak' && r.verdict === 'not_applicable'), `${rule}: ${r.verdict} ${r.detail ?? ''}`);
    }
    assert.equal(rules.get('rm-quality-gate')!.verdict, 'pass');
    assert.equal(rules.get('kl-budget')!.verdict, 'pass');
    assert.equal(rules.get('no-reward-up-eval-down')!.verdict, 'pass', 'the chosen step 1 is the eval peak');
    // a single RM, not an ensemble: said so, not passed silently
    const ensemble = rules.get('ensemble-disagreement-growth')!;
    assert.notEqual(ensemble.verdict, 'pass');
    assert.match(ensemble.detail ?? '', /not an ensemble/);
  });

  it('refuses a judge that is not a judge RM (trained on held-out pairs), naming the field', async () => {
    const evaluator = new EvaluatorService({ modelRegistry: repos.modelRegistry, evaluations: repos.evaluations, gateDecisions: repos.gateDecisions, transactions: repos.transactions, artifacts: store, training: repos.training });
    await assert.rejects(evaluator.requireJudge('rm-1'), /judgeModelVersion: rm-1 is a reward model trained on the train split, not a judge RM/);
    await evaluator.requireJudge('judge-1');
  });

  it('refuses a candidate that did not come from the run, naming the field', async () => {
    const evaluator = new EvaluatorService({ modelRegistry: repos.modelRegistry, evaluations: repos.evaluations, gateDecisions: repos.gateDecisions, transactions: repos.transactions, artifacts: store, training: repos.training });
    await assert.rejects(evaluator.evaluateRun({ runId: 'ppo-test-run', candidate: 'base', rewardScorer: LENGTH_LOVING_RM }), /candidate: .*base came from training run none/);
    await assert.rejects(evaluator.evaluateRun({ runId: 'no-such-run', rewardScorer: LENGTH_LOVING_RM }), /runId: training run no-such-run cannot be evaluated: no such training run/);
  });
});

describe('checkpointStepsToEvaluate', () => {
  it('takes every k-th step and always the last', () => {
    assert.deepEqual(checkpointStepsToEvaluate([4, 1, 2, 3, 5], 2), [2, 4, 5]);
    assert.deepEqual(checkpointStepsToEvaluate([1, 2, 3], 1), [1, 2, 3]);
    assert.deepEqual(checkpointStepsToEvaluate([0, 3], 5), [3]);
    assert.throws(() => checkpointStepsToEvaluate([1], 0), /every/);
  });
});
