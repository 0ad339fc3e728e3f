// The `dpo` job on SQLite from the shipped base policy on a stored scenario snapshot:
// progress per optimizer step, the trained policy registered as a candidate (parent,
// snapshot, training run) with a checkpoint row; an unknown snapshot fails at once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import { readArtifactManifest } from '../../../../src/engine/artifact/artifact.js';
import type { JobContext } from '../../../../src/platform/jobs/job-handlers.js';
import { Logger } from '../../../../src/platform/logging/logger.js';
import { JobParamsSchemas, type JobProgressInput } from '../../../../src/platform/messaging/events.js';
import { LocalArtifactStore } from '../../../../src/platform/artifacts/local-artifact-store.js';
import { createDataSource, runMigrations } from '../../../../src/platform/persistence/data-source.js';
import { createRepositories, type Repositories } from '../../../../src/platform/persistence/repositories/index.js';
import { dpoJobHandler } from '../../../../src/services/trainer/dpo.job.js';
import { DpoService } from '../../../../src/services/trainer/dpo.service.js';
import { SnapshotNotFoundError } from '../../../../src/services/trainer/reward-model.service.js';
import { BASE_POLICY_DIR, scenarioPreferenceRows, storeSnapshot } from '../../rlhf/reward/support.js';

describe('dpo job (SQLite, base policy, scenario snapshot)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outerloop-dpo-job-'));
  let ds: DataSource;
  let repos: Repositories;
  let artifacts: LocalArtifactStore;
  let snapshotId = '';

  before(async () => {
    ds = createDataSource({ type: 'better-sqlite3', path: join(dir, 'db.sqlite') });
    await ds.initialize();
    await runMigrations(ds);
    repos = createRepositories(ds);
    artifacts = new LocalArtifactStore(join(dir, 'artifacts'));
    await repos.modelRegistry.register({ id: 'policy-base', kind: 'policy', artifactPath: BASE_POLICY_DIR, sha256: (await readArtifactManifest(BASE_POLICY_DIR)).artifactId, status: 'production' });
    const rows = scenarioPreferenceRows({ seed: 5, count: 12, bias: 'honest' });
    snapshotId = await storeSnapshot(repos, artifacts, [...rows.train, ...rows.heldout], { heldoutFraction: 0.1 });
  });
  after(async () => {
    await ds?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const context = (raw: unknown, onProgress: (p: JobProgressInput) => void = () => {}): JobContext<'dpo'> => ({
    job: { id: 'job-d', kind: 'dpo', params: JobParamsSchemas.dpo.parse(raw), idempotencyKey: null, maxAttempts: 3 },
    attempt: 1, signal: new AbortController().signal, checkpoint: { prefix: 'jobs/job-d/' }, log: new Logger('test'),
    progress: async (p: JobProgressInput) => onProgress(p),
  }) as JobContext<'dpo'>;

  it('trains, reports each step and registers a candidate policy with its lineage', async () => {
    const seen: JobProgressInput[] = [];
    const service = new DpoService({ modelRegistry: repos.modelRegistry, datasetSnapshots: repos.datasetSnapshots, training: repos.training }, artifacts, { intraOpThreads: 1 });
    const result = await dpoJobHandler(service)(context({ snapshotId, beta: 0.1, epochs: 1, batchSize: 4, learningRate: 1e-5 }, (p) => seen.push(p)));
    assert.ok(result);
    assert.ok((result.pairs as number) > 0);
    assert.equal(result.steps, Math.ceil((result.pairs as number) / 4));
    assert.deepEqual(seen.map((p) => p.step), Array.from({ length: result.steps as number }, (_, i) => i + 1));
    assert.ok(Number.isFinite(result.finalLoss));
    const v = await repos.modelRegistry.get(result.modelVersion as string);
    assert.ok(v);
    assert.deepEqual([v.kind, v.status, v.parentId, v.datasetSnapshotId, v.trainingRunId], ['policy', 'candidate', 'policy-base', snapshotId, result.trainingRunId]);
    assert.equal((await readArtifactManifest(artifacts.resolve(v.artifactPath))).artifactId, v.sha256);
    assert.equal((await repos.training.getRun(result.trainingRunId as string))?.status, 'succeeded');
    assert.equal((await repos.training.checkpointsOf(result.trainingRunId as string)).length, 1);
  });

  it('fails at once on an unknown snapshot', async () => {
    const service = new DpoService({ modelRegistry: repos.modelRegistry, datasetSnapshots: repos.datasetSnapshots, training: repos.training }, artifacts);
    await assert.rejects(dpoJobHandler(service)(context({ snapshotId: 'f'.repeat(64) })), (e: unknown) => e instanceof SnapshotNotFoundError && e.retriable === false);
  });
});
