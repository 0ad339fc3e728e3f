// The persistence contract, run against SQLite by the unit suite
// (sqlite.test.ts) and against real PostgreSQL by the integration suite
// (tests/integration/persistence/postgres.test.ts): both modes must behave alike.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import {
  CompletionEntity,
  FeedbackEventEntity,
  GateDecisionEntity,
  LoopIterationEntity,
  ModelVersionEntity,
  TrainingRunEntity,
} from '../../../../src/platform/persistence/entities/index.js';
import { revertLastMigration, runMigrations } from '../../../../src/platform/persistence/data-source.js';
import { MIGRATIONS } from '../../../../migrations/index.js';

const MIGRATION_NAMES = MIGRATIONS.map((m) => m.name);

export const APP_TABLES = [
  'completions',
  'feedback_events',
  'preference_pairs',
  'dataset_snapshots',
  'model_versions',
  'training_runs',
  'checkpoints',
  'evaluations',
  'loop_iterations',
  'gate_decisions',
  'deployments',
  'api_keys',
  'user_flags',
  'jobs',
];

export function sampleCompletion(id: string, over: Partial<CompletionEntity> = {}): CompletionEntity {
  return Object.assign(new CompletionEntity(), {
    id,
    conversationId: `conv-${id}`,
    comparisonId: null,
    messages: [{ role: 'user', content: 'How do I kill a Linux process? ünïcødé ✓' }],
    response: 'Use `kill <pid>`.',
    modelVersion: 'policy-v1',
    sampling: { temperature: 0.7, topP: 0.95, maxTokens: 64, seed: 42, stop: [] },
    promptTokens: 12,
    completionTokens: 7,
    finishReason: 'stop',
    ttftMs: 12.5,
    latencyMs: 80.25,
    userId: 'u1',
    apiKeyId: null,
    shadow: false,
    createdAt: new Date('2026-11-27T05:00:00.123Z'),
    ingestedAt: new Date('2026-11-27T05:00:01.456Z'),
    ...over,
  } satisfies CompletionEntity);
}

export function sampleFeedback(id: string, completionId: string, over: Partial<FeedbackEventEntity> = {}): FeedbackEventEntity {
  return Object.assign(new FeedbackEventEntity(), {
    id,
    completionId,
    type: 'thumbs',
    value: 1,
    otherCompletionId: null,
    editedResponse: null,
    comment: null,
    userId: 'u1',
    apiKeyId: null,
    createdAt: new Date('2026-11-27T05:01:00.000Z'),
    ingestedAt: new Date('2026-11-27T05:01:00.500Z'),
    ...over,
  } satisfies FeedbackEventEntity);
}

/** Insert one row with plain SQL (the schema may be behind the entities), in either dialect. */
async function insertRaw(ds: DataSource, table: string, row: Record<string, unknown>): Promise<void> {
  const names = Object.keys(row);
  const postgres = ds.options.type === 'postgres';
  const placeholders = names.map((_, i) => (postgres ? `$${i + 1}` : '?'));
  const values = names.map((n) => (row[n] instanceof Date && !postgres ? (row[n] as Date).toISOString().replace('T', ' ').replace('Z', '') : row[n]));
  await ds.query(`INSERT INTO ${table} (${names.join(', ')}) VALUES (${placeholders.join(', ')})`, values);
}

async function tableNames(ds: DataSource): Promise<string[]> {
  const qr = ds.createQueryRunner();
  try {
    const tables = await qr.getTables();
    return tables.map((t) => t.name.split('.').pop()!).sort();
  } finally {
    await qr.release();
  }
}

/**
 * @param label  prefix of every test name (e.g. '[postgres]')
 * @param open   returns a fresh, initialized, NOT migrated data source on an empty database
 * @param close  tears it down
 */
export function persistenceContract(label: string, open: () => Promise<DataSource>, close: (ds: DataSource) => Promise<void>): void {
  describe(`${label} persistence contract`, () => {
    let ds: DataSource;
    before(async () => {
      ds = await open();
    });
    after(async () => {
      if (ds) await close(ds);
    });

    it(`${label} migrations apply cleanly, create every table, and are idempotent`, async () => {
      const applied = await runMigrations(ds);
      assert.equal(MIGRATION_NAMES[0], 'InitialSchema1764200000000');
      assert.deepEqual(applied, MIGRATION_NAMES, 'every migration applies, in order');
      const names = await tableNames(ds);
      for (const t of APP_TABLES) assert.ok(names.includes(t), `table ${t} missing after migration; have ${names.join(', ')}`);
      assert.deepEqual(await runMigrations(ds), [], 'second run must apply nothing');
    });

    it(`${label} the migrated schema matches the entities (no pending schema diff)`, async () => {
      const pending = await ds.driver.createSchemaBuilder().log();
      const statements = pending.upQueries.map((q) => q.query);
      assert.deepEqual(statements, [], `entities and migration disagree; synchronize would run:\n${statements.join('\n')}`);
    });

    it(`${label} upsert by id is idempotent and round-trips every column type`, async () => {
      const repo = ds.getRepository(CompletionEntity);
      const row = sampleCompletion('c-upsert');
      await repo.upsert(row, ['id']);
      await repo.upsert(row, ['id']);
      await repo.upsert({ ...row, response: 'Use `kill -9 <pid>` only as a last resort.' }, ['id']);
      assert.equal(await repo.countBy({ id: 'c-upsert' }), 1);
      const back = await repo.findOneByOrFail({ id: 'c-upsert' });
      assert.equal(back.response, 'Use `kill -9 <pid>` only as a last resort.');
      assert.deepEqual(back.messages, row.messages);
      assert.deepEqual(back.sampling, row.sampling);
      assert.equal(back.shadow, false);
      assert.equal(back.ttftMs, 12.5);
      assert.ok(back.createdAt instanceof Date, 'createdAt hydrates as a Date');
      assert.equal(back.createdAt.toISOString(), '2026-11-27T05:00:00.123Z');
      assert.equal(back.ingestedAt.toISOString(), '2026-11-27T05:00:01.456Z');
      assert.equal(back.comparisonId, null);

      await repo.upsert(sampleCompletion('c-shadow', { shadow: true }), ['id']);
      assert.equal((await repo.findOneByOrFail({ id: 'c-shadow' })).shadow, true);
    });

    it(`${label} time-window queries compare instants, not strings`, async () => {
      const repo = ds.getRepository(CompletionEntity);
      await repo.upsert(sampleCompletion('c-early', { createdAt: new Date('2026-01-01T00:00:00.000Z') }), ['id']);
      await repo.upsert(sampleCompletion('c-late', { createdAt: new Date('2026-12-31T23:59:59.999Z') }), ['id']);
      const inWindow = await repo
        .createQueryBuilder('c')
        .where('c.created_at >= :from AND c.created_at < :to', { from: new Date('2026-06-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') })
        .andWhere('c.id IN (:...ids)', { ids: ['c-early', 'c-late'] })
        .getMany();
      assert.deepEqual(inWindow.map((c) => c.id), ['c-late']);
    });

    it(`${label} a feedback event for an unknown completion fails the foreign key`, async () => {
      const repo = ds.getRepository(FeedbackEventEntity);
      await assert.rejects(repo.insert(sampleFeedback('f-orphan', 'no-such-completion')), (err: Error) => {
        assert.match(err.message, /foreign key/i);
        return true;
      });
      assert.equal(await repo.countBy({ id: 'f-orphan' }), 0);
    });

    it(`${label} feedback upserts are idempotent and load their completion`, async () => {
      await ds.getRepository(CompletionEntity).upsert(sampleCompletion('c-fb'), ['id']);
      const repo = ds.getRepository(FeedbackEventEntity);
      const fb = sampleFeedback('f-1', 'c-fb', { type: 'rating', value: 4 });
      await repo.upsert(fb, ['id']);
      await repo.upsert(fb, ['id']);
      assert.equal(await repo.countBy({ completionId: 'c-fb' }), 1);
      const back = await repo.findOneOrFail({ where: { id: 'f-1' }, relations: { completion: true } });
      assert.equal(back.value, 4);
      assert.equal(back.completion?.id, 'c-fb');
      assert.equal(back.completion?.response, 'Use `kill <pid>`.');
    });

    it(`${label} registry relations: parent model, training run, gate decision → loop iteration`, async () => {
      const models = ds.getRepository(ModelVersionEntity);
      const base: ModelVersionEntity = Object.assign(new ModelVersionEntity(), {
        id: 'policy-base', kind: 'policy', parentId: null, artifactPath: 'models/base', sha256: 'a'.repeat(64),
        status: 'production', trainingRunId: null, datasetSnapshotId: null, metrics: {}, createdAt: new Date(),
      } satisfies ModelVersionEntity);
      await models.insert(base);
      const run: TrainingRunEntity = Object.assign(new TrainingRunEntity(), {
        id: 'run-1', kind: 'ppo', config: { lr: 1e-5 }, baseModelId: 'policy-base', datasetSnapshotId: null,
        status: 'succeeded', seed: 7, startedAt: new Date(), finishedAt: null, error: null, createdAt: new Date(),
      } satisfies TrainingRunEntity);
      await ds.getRepository(TrainingRunEntity).insert(run);
      const v2: ModelVersionEntity = { ...base, id: 'policy-v2', parentId: 'policy-base', trainingRunId: 'run-1', status: 'candidate', metrics: { reward: { value: 1.5 } } };
      await models.insert(v2);
      const child = await models.findOneOrFail({ where: { id: 'policy-v2' }, relations: { parent: true, trainingRun: true } });
      assert.equal(child.parent?.id, 'policy-base');
      assert.equal(child.trainingRun?.seed, 7);
      assert.deepEqual(child.metrics, { reward: { value: 1.5 } });

      await assert.rejects(models.insert({ ...base, id: 'policy-orphan', parentId: 'no-such-model' }), /foreign key/i);

      const loops = ds.getRepository(LoopIterationEntity);
      await loops.insert({
        id: 'loop-1', state: 'gate', stateHistory: [{ state: 'snapshot', at: '2026-11-27T05:00:00.000Z' }], trigger: 'manual', steps: {}, pausedFrom: null, revision: 0, snapshotId: null,
        rewardModelId: null, candidateModelId: 'policy-v2', error: null, attempt: 0,
        updatedAt: new Date(), createdAt: new Date(),
      });
      const gates = ds.getRepository(GateDecisionEntity);
      await gates.insert({
        id: 'gate-1', loopIterationId: 'loop-1', candidateModelId: 'policy-v2', verdict: 'fail',
        rules: [{ rule: 'reward-up-eval-down', value: 0.3, threshold: 0, verdict: 'fail' }], createdAt: new Date(),
      });
      await loops.update({ id: 'loop-1' }, { state: 'rejected' });
      // a gate decision belongs to its iteration (one foreign key, gate → loop)
      const decision = await gates.findOneOrFail({ where: { loopIterationId: 'loop-1' }, relations: { loopIteration: true, candidateModel: true } });
      assert.equal(decision.verdict, 'fail');
      assert.equal(decision.rules[0]?.rule, 'reward-up-eval-down');
      assert.equal(decision.loopIteration?.state, 'rejected');
      assert.equal(decision.candidateModel?.parentId, 'policy-base');
      await assert.rejects(
        gates.insert({ id: 'gate-orphan', loopIterationId: 'no-such-loop', candidateModelId: 'policy-v2', verdict: 'pass', rules: [], createdAt: new Date() }),
        /foreign key/i,
      );
      // deleting the iteration takes its decisions with it
      await loops.delete({ id: 'loop-1' });
      assert.equal(await gates.countBy({ id: 'gate-1' }), 0);
    });

    it(`${label} dropping loop_iterations.gate_decision_id keeps every iteration's decision`, async () => {
      // revert it and every migration after it, whatever came later
      const target = MIGRATION_NAMES.indexOf('GateDecisionBelongsToIteration1764210000000');
      assert.ok(target >= 0, 'the migration is registered');
      for (let i = MIGRATIONS.length - 1; i >= target; i--) await revertLastMigration(ds);
      // the old schema: the iteration pointed at a decision that did not point back
      const now = new Date();
      await insertRaw(ds, 'loop_iterations', { id: 'loop-legacy', state: 'gating', state_history: '[]', candidate_model_id: 'policy-v2', attempt: 0, updated_at: now, created_at: now });
      await insertRaw(ds, 'gate_decisions', { id: 'gate-legacy', loop_iteration_id: null, candidate_model_id: 'policy-v2', verdict: 'pass', rules: '[]', created_at: now });
      await ds.query(`UPDATE loop_iterations SET gate_decision_id = 'gate-legacy' WHERE id = 'loop-legacy'`);
      assert.deepEqual(await runMigrations(ds), MIGRATION_NAMES.slice(target));
      const migrated = await ds.getRepository(GateDecisionEntity).findOneByOrFail({ id: 'gate-legacy' });
      assert.equal(migrated.loopIterationId, 'loop-legacy');
      const qr = ds.createQueryRunner();
      const columns = await qr.getTable('loop_iterations').finally(() => qr.release());
      assert.ok(columns, 'loop_iterations exists');
      const names = columns.columns.map((c) => c.name);
      assert.ok(!names.includes('gate_decision_id'), `gate_decision_id still there: ${names.join(', ')}`);
    });

    it(`${label} migrations revert cleanly`, async () => {
      for (let i = 0; i < MIGRATIONS.length; i++) await revertLastMigration(ds);
      const names = await tableNames(ds);
      for (const t of APP_TABLES) assert.ok(!names.includes(t), `table ${t} still present after revert`);
      // and re-apply on the reverted database works (down really undid up)
      assert.deepEqual(await runMigrations(ds), MIGRATION_NAMES);
    });
  });
}
