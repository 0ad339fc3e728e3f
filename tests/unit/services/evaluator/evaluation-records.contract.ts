// The evaluation and gate-decision repositories against a real database: run on SQLite
// by the unit suite (evaluation-records.test.ts) and on PostgreSQL by
// tests/integration/evaluator/evaluation-records.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import type { EvaluationRecord, GateDecisionRecordRow } from '../../../../src/domain/evaluation.js';
import { revertLastMigration, runMigrations } from '../../../../src/platform/persistence/data-source.js';
import { GateDecisionEntity } from '../../../../src/platform/persistence/entities/index.js';
import { createRepositories, type Repositories } from '../../../../src/platform/persistence/repositories/index.js';
import { MIGRATIONS } from '../../../../migrations/index.js';

const SHA = (c: string) => c.repeat(64);

export function evaluationRecordsContract(label: string, open: () => Promise<DataSource>, close: (ds: DataSource) => Promise<void>): void {
  describe(`${label} evaluation and gate-decision repositories`, () => {
    let ds: DataSource;
    let repos: Repositories;
    before(async () => {
      ds = await open();
      await runMigrations(ds);
      repos = createRepositories(ds);
      await repos.modelRegistry.register({ id: 'base', kind: 'policy', artifactPath: 'models/base', sha256: SHA('a'), status: 'production' });
      await repos.modelRegistry.register({ id: 'cand', kind: 'policy', artifactPath: 'models/cand', sha256: SHA('b'), parentId: 'base' });
    });
    after(async () => {
      if (ds) await close(ds);
    });

    const row = (suite: string, side: 'candidate' | 'incumbent'): EvaluationRecord => ({
      id: `eval-1:${suite}:${side}`, evaluationId: 'eval-1', modelVersionId: side === 'candidate' ? 'cand' : 'base', checkpointId: null, suite, side,
      comparedWithModelId: side === 'candidate' ? 'base' : 'cand',
      metrics: { [`${suite}.correct`]: { value: 0.5, lo: 0.4, hi: 0.6, level: 0.95, se: 0.05 }, ...(side === 'candidate' ? { [`${suite}.correct.delta`]: { value: -0.1, lo: -0.2, hi: 0, level: 0.95 } } : {}) },
      details: { labels: { correct: { right: 3, wrong: 2 } } }, reportPath: 'evaluations/eval-1/report.md', createdAt: new Date('2026-11-29T03:00:00.000Z'),
    });

    it(`${label} stores an evaluation's rows once (a retried job writes nothing new) and reads them by evaluation`, async () => {
      const rows = [row('extrinsic', 'candidate'), row('extrinsic', 'incumbent'), row('refusal', 'candidate'), row('refusal', 'incumbent')];
      assert.equal(await repos.evaluations.insertIfAbsent(rows), 4);
      assert.equal(await repos.evaluations.insertIfAbsent(rows), 0);
      const back = await repos.evaluations.byEvaluation('eval-1');
      assert.deepEqual(back.map((r) => `${r.suite}/${r.side}`), ['extrinsic/candidate', 'extrinsic/incumbent', 'refusal/candidate', 'refusal/incumbent']);
      assert.deepEqual(back[0]!.metrics['extrinsic.correct.delta'], { value: -0.1, lo: -0.2, hi: 0, level: 0.95 });
      assert.deepEqual(back[0]!.details, { labels: { correct: { right: 3, wrong: 2 } } });
      assert.equal(back[0]!.createdAt.toISOString(), '2026-11-29T03:00:00.000Z');
      assert.deepEqual(await repos.evaluations.evaluationsOfCandidate('cand'), ['eval-1']);
      assert.deepEqual(await repos.evaluations.evaluationsOfCandidate('base'), []);
    });

    const decision = (policy: string, verdict: GateDecisionRecordRow['verdict'], at: string): GateDecisionRecordRow => ({
      id: `eval-1:${policy}`, loopIterationId: null, evaluationId: 'eval-1', candidateModelId: 'cand', policyName: policy, verdict,
      rules: [
        { rule: 'extrinsic-not-worse', metric: 'extrinsic.correct.delta', statistic: 'lower', comparator: '>=', value: -0.2, threshold: -0.03, interval: { lower: -0.2, upper: 0, level: 0.95 }, verdict: 'fail' },
        { rule: 'kl-budget', metric: 'kl.budgetExceeded', statistic: 'value', comparator: '==', value: null, threshold: false, interval: null, verdict: 'not_applicable', detail: 'no cumulative KL budget is configured' },
        { rule: 'no-reward-up-eval-down', metric: 'rewardUpEvalDown', statistic: 'value', comparator: '==', value: false, threshold: false, interval: null, verdict: 'pass' },
        { rule: 'judge-win-rate', metric: 'judge.lengthControlledWinRate', statistic: 'value', comparator: '>=', value: null, threshold: 0.5, interval: null, verdict: 'missing', detail: 'metric judge.lengthControlledWinRate was not provided' },
      ],
      missing: ['judge.lengthControlledWinRate'],
      chosenCheckpoint: { metric: 'extrinsic.correct', step: 200, bestStep: 300, threshold: 0.5, eligibleSteps: [200, 300] },
      inputs: { 'extrinsic.correct.delta': { value: -0.1, lower: -0.2, upper: 0, se: 0.05, level: 0.95, resamples: 1000 }, rewardUpEvalDown: false, 'kl.budgetExceeded': { notApplicable: 'no cumulative KL budget is configured' } },
      createdAt: new Date(at),
    });

    it(`${label} stores gate decisions with needs_review, yes/no values, missing and not-applicable rules, the inputs and the chosen checkpoint`, async () => {
      assert.equal(await repos.gateDecisions.insertIfAbsent(decision('default', 'fail', '2026-11-29T03:00:01.000Z')), true);
      assert.equal(await repos.gateDecisions.insertIfAbsent(decision('default', 'fail', '2026-11-29T03:00:01.000Z')), false);
      await repos.gateDecisions.insertIfAbsent(decision('naive', 'needs_review', '2026-11-29T03:00:02.000Z'));
      const [first, second] = await repos.gateDecisions.byEvaluation('eval-1');
      assert.equal(first!.policyName, 'default');
      assert.equal(second!.verdict, 'needs_review');
      assert.deepEqual(first!.rules.map((r) => [r.verdict, r.value]), [['fail', -0.2], ['not_applicable', null], ['pass', false], ['missing', null]]);
      assert.deepEqual(first!.missing, ['judge.lengthControlledWinRate']);
      assert.deepEqual(first!.chosenCheckpoint, decision('default', 'fail', '2026-11-29T03:00:01.000Z').chosenCheckpoint);
      assert.deepEqual(first!.inputs, decision('default', 'fail', '2026-11-29T03:00:01.000Z').inputs);
      assert.deepEqual((await repos.gateDecisions.recent(1)).map((d) => d.id), ['eval-1:naive']);
      assert.equal((await repos.gateDecisions.get('eval-1:default'))?.verdict, 'fail');
      assert.equal(await repos.gateDecisions.get('nope'), null);
    });

    it(`${label} a transaction writes the rows and the decisions together or not at all`, async () => {
      await assert.rejects(repos.transactions.run(async (tx) => {
        await tx.evaluations.insertIfAbsent([{ ...row('diversity', 'candidate'), id: 'eval-2:diversity:candidate', evaluationId: 'eval-2' }]);
        await tx.gateDecisions.insertIfAbsent({ ...decision('default', 'pass', '2026-11-29T03:00:03.000Z'), id: 'eval-2:default', evaluationId: 'eval-2', candidateModelId: 'no-such-model' });
      }), /foreign key/i);
      assert.deepEqual(await repos.evaluations.byEvaluation('eval-2'), []);
    });

    it(`${label} the migration keeps rows written before it, and reverts`, async () => {
      // revert it and every migration after it, whatever came later
      const target = MIGRATIONS.findIndex((m) => m.name === 'GateDecisionEvidence1764400000000');
      assert.ok(target >= 0, 'the migration is registered');
      for (let i = MIGRATIONS.length - 1; i >= target; i--) await revertLastMigration(ds);
      const legacy = await ds.query(`SELECT COUNT(*) AS n FROM gate_decisions`);
      assert.equal(Number(legacy[0].n), 2);
      assert.deepEqual(await runMigrations(ds), MIGRATIONS.slice(target).map((m) => m.name));
      const back = await ds.getRepository(GateDecisionEntity).findOneByOrFail({ id: 'eval-1:default' });
      // the columns came back empty: a row from before the migration has no inputs, so it cannot be replayed
      assert.equal(back.inputs, null);
      assert.equal(back.policyName, null);
      assert.equal(back.verdict, 'fail');
    });
  });
}
