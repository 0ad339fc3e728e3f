// The training repository (runs and their checkpoint rows) against a real
// database: SQLite in the unit suite (sqlite.test.ts), PostgreSQL in
// tests/integration/persistence/postgres.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import { runMigrations } from '../../../../src/platform/persistence/data-source.js';
import { createRepositories, type Repositories } from '../../../../src/platform/persistence/repositories/index.js';

export function trainingRepositoryContract(label: string, open: () => Promise<DataSource>, close: (ds: DataSource) => Promise<void>): void {
  describe(`${label} training repository`, () => {
    let ds: DataSource;
    let repos: Repositories;
    before(async () => {
      ds = await open();
      await runMigrations(ds);
      repos = createRepositories(ds);
      await repos.modelRegistry.register({ id: 'policy-base', kind: 'policy', artifactPath: 'models/base', sha256: 'a'.repeat(64), status: 'production' });
    });
    after(async () => {
      if (ds) await close(ds);
    });

    it(`${label} a run starts, resumes and finishes; checkpoints upsert by step`, async () => {
      const t0 = new Date('2026-01-01T00:00:00Z');
      const run = await repos.training.startRun({ id: 'rm-run-1', kind: 'reward', config: { seed: 3 }, baseModelId: 'policy-base', datasetSnapshotId: null, seed: 3 }, t0);
      assert.equal(run.status, 'running');
      await repos.training.finishRun('rm-run-1', 'failed', 'killed', new Date('2026-01-01T00:01:00Z'));
      assert.equal((await repos.training.getRun('rm-run-1'))!.error, 'killed');
      const again = await repos.training.startRun({ id: 'rm-run-1', kind: 'reward', config: { seed: 999 }, baseModelId: 'policy-base', datasetSnapshotId: null, seed: 999 });
      assert.equal(again.status, 'running');
      assert.equal(again.error, null);
      assert.equal(again.seed, 3, 'a resumed run keeps its config');
      await repos.training.recordCheckpoint({ id: 'rm-run-1:5', runId: 'rm-run-1', step: 5, metrics: { loss: 0.6 }, artifactPath: null });
      await repos.training.recordCheckpoint({ id: 'rm-run-1:5', runId: 'rm-run-1', step: 5, metrics: { loss: 0.5 }, artifactPath: 'ckpt/5' });
      await repos.training.recordCheckpoint({ id: 'rm-run-1:2', runId: 'rm-run-1', step: 2, metrics: { loss: 0.7 }, artifactPath: null });
      assert.deepEqual(await repos.training.checkpointsOf('rm-run-1'), [
        { step: 2, metrics: { loss: 0.7 }, artifactPath: null },
        { step: 5, metrics: { loss: 0.5 }, artifactPath: 'ckpt/5' },
      ]);
      await repos.training.finishRun('rm-run-1', 'succeeded');
      assert.equal((await repos.training.getRun('rm-run-1'))!.status, 'succeeded');
    });

  });
}
