// The model registry and deployment repositories against a real database: run on
// SQLite by the unit suite (sqlite.test.ts) and on PostgreSQL by
// tests/integration/persistence/postgres.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import {
  IllegalModelTransitionError,
  ModelRegistrationError,
  ModelVersionNotFoundError,
  type ModelVersionRecord,
} from '../../../../src/domain/models.js';
import { runMigrations } from '../../../../src/platform/persistence/data-source.js';
import { DatasetSnapshotEntity, ModelVersionEntity, TrainingRunEntity } from '../../../../src/platform/persistence/entities/index.js';
import { createRepositories, type Repositories } from '../../../../src/platform/persistence/repositories/index.js';

const SHA = (c: string) => c.repeat(64);

export function modelRegistryContract(label: string, open: () => Promise<DataSource>, close: (ds: DataSource) => Promise<void>): void {
  describe(`${label} model registry repository`, () => {
    let ds: DataSource;
    let repos: Repositories;
    before(async () => {
      ds = await open();
      await runMigrations(ds);
      repos = createRepositories(ds);
    });
    after(async () => {
      if (ds) await close(ds);
    });

    it(`${label} registers versions with their lineage: parent, dataset snapshot, training run`, async () => {
      const base = await repos.modelRegistry.register({ id: 'policy-base', kind: 'policy', artifactPath: '/models/base', sha256: SHA('a'), status: 'production' });
      assert.equal(base.status, 'production');
      await ds.getRepository(DatasetSnapshotEntity).insert({
        id: SHA('d'), filters: {}, counts: {}, sourceEventRange: { minEventId: null, maxEventId: null, eventCount: 0, from: null, to: null },
        artifactPath: `snapshots/${SHA('d')}`, sha256: SHA('e'), statistics: null, createdAt: new Date(),
      });
      await ds.getRepository(TrainingRunEntity).insert({
        id: 'run-ppo-1', kind: 'ppo', config: {}, baseModelId: 'policy-base', datasetSnapshotId: SHA('d'), status: 'succeeded', seed: 3,
        startedAt: null, finishedAt: null, error: null, createdAt: new Date(),
      });
      const child = await repos.modelRegistry.register({
        id: 'policy-2', kind: 'policy', parentId: 'policy-base', artifactPath: 'models/policy-2', sha256: SHA('b'),
        trainingRunId: 'run-ppo-1', datasetSnapshotId: SHA('d'), metrics: { reward: 0.4 },
      });
      assert.equal(child.status, 'candidate', 'a new version is a candidate');
      await repos.modelRegistry.register({ id: 'policy-3', kind: 'policy', parentId: 'policy-2', artifactPath: 'models/policy-3', sha256: SHA('c') });

      const lineage = await repos.modelRegistry.lineage('policy-3');
      assert.deepEqual(lineage.map((v) => v.id), ['policy-3', 'policy-2', 'policy-base']);
      assert.equal(lineage[1]!.trainingRunId, 'run-ppo-1');
      assert.equal(lineage[1]!.datasetSnapshotId, SHA('d'));
      assert.deepEqual(lineage[1]!.metrics, { reward: 0.4 });
      assert.ok(lineage[1]!.createdAt instanceof Date);
      await assert.rejects(repos.modelRegistry.lineage('nope'), ModelVersionNotFoundError);
    });

    it(`${label} refuses a missing parent, a duplicate id and a second production model of a kind`, async () => {
      await assert.rejects(
        repos.modelRegistry.register({ id: 'orphan', kind: 'policy', parentId: 'no-such', artifactPath: 'x', sha256: SHA('f') }),
        (err: unknown) => err instanceof ModelVersionNotFoundError && /no-such/.test(err.message),
      );
      await assert.rejects(repos.modelRegistry.register({ id: 'policy-2', kind: 'policy', artifactPath: 'x', sha256: SHA('f') }), ModelRegistrationError);
      const same = await repos.modelRegistry.register({ id: 'policy-2', kind: 'policy', artifactPath: 'x', sha256: SHA('f') }, { ifAbsent: true });
      assert.equal(same.artifactPath, 'models/policy-2', 'ifAbsent returns the stored version unchanged');
      await assert.rejects(
        repos.modelRegistry.register({ id: 'policy-rogue', kind: 'policy', artifactPath: 'x', sha256: SHA('f'), status: 'production' }),
        /policy-base is the production policy model/,
      );
      // another kind has its own production model
      await repos.modelRegistry.register({ id: 'reward-base', kind: 'reward', artifactPath: 'r', sha256: SHA('1'), status: 'production' });
      assert.equal(await ds.getRepository(ModelVersionEntity).countBy({ id: 'orphan' }), 0);
    });

    it(`${label} walks candidate → canary → production → retired, and refuses an illegal move naming both states`, async () => {
      assert.equal((await repos.modelRegistry.transition('policy-2', 'canary')).status, 'canary');
      await assert.rejects(repos.modelRegistry.transition('policy-3', 'production'), (err: unknown) => {
        assert.ok(err instanceof IllegalModelTransitionError);
        assert.equal(err.from, 'candidate');
        assert.equal(err.to, 'production');
        assert.match(err.message, /policy-3: cannot go from candidate to production/);
        return true;
      });
      assert.equal((await repos.modelRegistry.get('policy-3'))?.status, 'candidate', 'a refused move changes nothing');
      await repos.modelRegistry.transition('policy-base', 'retired');
      await repos.modelRegistry.transition('policy-2', 'production');
      assert.deepEqual((await repos.modelRegistry.findByStatus('policy', 'production')).map((v) => v.id), ['policy-2']);
      await assert.rejects(repos.modelRegistry.transition('policy-base', 'production'), /cannot go from retired to production/);
      await assert.rejects(repos.modelRegistry.transition('nope', 'canary'), ModelVersionNotFoundError);
    });

    it(`${label} two concurrent decisions on one canary: exactly one wins, the other is refused by the state it lost to`, async () => {
      await repos.modelRegistry.transition('policy-3', 'canary');
      const results = await Promise.allSettled([repos.modelRegistry.transition('policy-3', 'production'), repos.modelRegistry.transition('policy-3', 'rejected')]);
      const won = results.filter((r): r is PromiseFulfilledResult<ModelVersionRecord> => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(won.length, 1, JSON.stringify(results));
      assert.ok(lost[0]!.reason instanceof IllegalModelTransitionError, String(lost[0]!.reason));
      assert.equal((await repos.modelRegistry.get('policy-3'))?.status, won[0]!.value.status);
    });

    it(`${label} deployments: newest row is current, inserts by id are idempotent`, async () => {
      assert.equal(await repos.deployments.current(), null);
      const d = { id: 'dep-1', productionModelId: 'policy-2', canaryModelId: null, canaryWeight: 0, shadowModelId: null, reason: 'first', createdAt: new Date('2026-11-01T00:00:00Z') };
      assert.equal(await repos.deployments.insertIfAbsent(d), true);
      assert.equal(await repos.deployments.insertIfAbsent({ ...d, reason: 'again' }), false);
      await repos.deployments.insertIfAbsent({ ...d, id: 'dep-2', canaryModelId: 'policy-3', canaryWeight: 0.1, reason: 'canary', createdAt: new Date('2026-11-02T00:00:00Z') });
      const current = await repos.deployments.current();
      assert.equal(current?.id, 'dep-2');
      assert.equal(current?.canaryWeight, 0.1);
      assert.equal((await repos.deployments.get('dep-1'))?.reason, 'first');
    });

    it(`${label} a transaction commits all of its writes or none`, async () => {
      await assert.rejects(
        repos.transactions.run(async (tx) => {
          await tx.modelRegistry.register({ id: 'policy-tx', kind: 'policy', parentId: 'policy-2', artifactPath: 't', sha256: SHA('9') });
          await tx.deployments.insertIfAbsent({ id: 'dep-tx', productionModelId: 'policy-tx', canaryModelId: null, canaryWeight: 0, shadowModelId: null, reason: 'tx', createdAt: new Date() });
          throw new Error('changed my mind');
        }),
        /changed my mind/,
      );
      assert.equal(await repos.modelRegistry.get('policy-tx'), null);
      assert.equal(await repos.deployments.get('dep-tx'), null);
      await repos.transactions.run(async (tx) => {
        await tx.modelRegistry.register({ id: 'policy-tx', kind: 'policy', parentId: 'policy-2', artifactPath: 't', sha256: SHA('9') });
        await tx.modelRegistry.transition('policy-tx', 'rejected');
      });
      assert.equal((await repos.modelRegistry.get('policy-tx'))?.status, 'rejected');
    });

    it(`${label} concurrent transactions neither see nor undo each other's writes`, async () => {
      let release!: () => void;
      let entered!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const inside = new Promise<void>((r) => (entered = r));
      const failing = repos.transactions.run(async (tx) => {
        await tx.modelRegistry.register({ id: 'policy-c1', kind: 'policy', parentId: 'policy-2', artifactPath: 'c1', sha256: SHA('7') });
        entered();
        await gate; // hold the transaction open while the others are issued
        throw new Error('roll back c1');
      });
      const committing = repos.transactions.run((tx) => tx.modelRegistry.register({ id: 'policy-c2', kind: 'policy', parentId: 'policy-2', artifactPath: 'c2', sha256: SHA('8') }));
      const standalone = repos.modelRegistry.register({ id: 'policy-c3', kind: 'policy', parentId: 'policy-2', artifactPath: 'c3', sha256: SHA('6') });
      await inside;
      await new Promise((r) => setImmediate(r)); // let the others reach the database if nothing holds them back
      release();
      const [a, b, c] = await Promise.allSettled([failing, committing, standalone]);
      assert.equal(a.status, 'rejected');
      assert.equal(b.status, 'fulfilled', String((b as PromiseRejectedResult).reason));
      assert.equal(c.status, 'fulfilled', String((c as PromiseRejectedResult).reason));
      assert.equal(await repos.modelRegistry.get('policy-c1'), null);
      assert.equal((await repos.modelRegistry.get('policy-c2'))?.artifactPath, 'c2');
      assert.equal((await repos.modelRegistry.get('policy-c3'))?.artifactPath, 'c3');
    });
  });
}
