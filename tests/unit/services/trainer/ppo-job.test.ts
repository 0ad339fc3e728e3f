// The `ppo` job on SQLite with a tiny policy and a tiny two-member reward model: progress
// per PPO step with reward and KL; the final checkpoint registered as a candidate policy
// (parent policy, training run, RM version) with a checkpoint row per step; a cancelled job
// resumes from its checkpoints on the next attempt; an unknown or rejected RM is refused
// at once, naming it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import { writeRewardArtifact } from '../../../../src/engine/artifact/reward-artifact.js';
import { TrainingCancelledError } from '../../../../src/engine/train/training-program.js';
import type { JobContext } from '../../../../src/platform/jobs/job-handlers.js';
import { Logger } from '../../../../src/platform/logging/logger.js';
import { JobParamsSchemas, type JobProgressInput } from '../../../../src/platform/messaging/events.js';
import { LocalArtifactStore } from '../../../../src/platform/artifacts/local-artifact-store.js';
import { createDataSource, runMigrations } from '../../../../src/platform/persistence/data-source.js';
import { createRepositories, type Repositories } from '../../../../src/platform/persistence/repositories/index.js';
import { ppoJobHandler } from '../../../../src/services/trainer/ppo.job.js';
import { PpoService, RewardModelRefusedError } from '../../../../src/services/trainer/ppo.service.js';
import { randomParameters } from '../../engine/runtime/fixture.js';
import { RELAXED_HEALTH, TOY_PROMPTS, toyWorld, writeToyPolicy } from '../../rlhf/ppo/toy.js';

describe('ppo job (SQLite, tiny policy and reward model)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outerloop-ppo-job-'));
  const toy = toyWorld();
  let ds: DataSource;
  let repos: Repositories;
  let service: PpoService;

  before(async () => {
    ds = createDataSource({ type: 'better-sqlite3', path: join(dir, 'db.sqlite') });
    await ds.initialize();
    await runMigrations(ds);
    repos = createRepositories(ds);
    const artifacts = new LocalArtifactStore(join(dir, 'artifacts'));
    const policyDir = await writeToyPolicy(toy, join(dir, 'policy'));
    const { readArtifactManifest } = await import('../../../../src/engine/artifact/artifact.js');
    await repos.modelRegistry.register({ id: 'policy-toy', kind: 'policy', artifactPath: policyDir, sha256: (await readArtifactManifest(policyDir)).artifactId, status: 'production' });
    for (const [id, seed] of [['reward-good', 11], ['reward-bad', 21]] as const) {
      const manifest = await writeRewardArtifact(join(dir, id), {
        members: [randomParameters(toy.config, seed, 0.3), randomParameters(toy.config, seed + 1, 0.3)], tokenizer: toy.tokenizer,
        meta: { parentArtifactId: null, datasetSnapshotId: null, trainingRunId: null, training: {}, metrics: {} },
      });
      await repos.modelRegistry.register({ id, kind: 'reward', parentId: 'policy-toy', artifactPath: join(dir, id), sha256: manifest.artifactId });
    }
    await repos.modelRegistry.transition('reward-bad', 'rejected');
    service = new PpoService({ modelRegistry: repos.modelRegistry, training: repos.training }, artifacts, {
      defaultPrompts: TOY_PROMPTS,
      defaults: { maxTokens: 3, epochs: 1, miniBatches: 1, lr: 1e-3, health: RELAXED_HEALTH },
      intraOpThreads: 1,
    });
  });
  after(async () => {
    await ds?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  function context(raw: unknown, controller = new AbortController(), onProgress: (p: JobProgressInput) => void = () => {}): JobContext<'ppo'> {
    return {
      job: { id: 'job-1', kind: 'ppo', params: JobParamsSchemas.ppo.parse(raw), idempotencyKey: null, maxAttempts: 3 },
      attempt: 1, signal: controller.signal, checkpoint: { prefix: 'jobs/job-1/' }, log: new Logger('test'),
      progress: async (p) => onProgress(p),
    } as JobContext<'ppo'>;
  }

  it('cancels at a step boundary, then a new attempt resumes and registers a candidate policy', async () => {
    const params = { rewardModelVersion: 'reward-good', steps: 3, objective: 'wco', batchSize: 4, checkpointEvery: 1 };
    const handler = ppoJobHandler(service);
    const controller = new AbortController();
    await assert.rejects(handler(context(params, controller, (p) => { if (p.step === 1) controller.abort(); })), (e: unknown) => e instanceof TrainingCancelledError);

    const seen: JobProgressInput[] = [];
    const result = await handler(context(params, new AbortController(), (p) => seen.push(p)));
    assert.ok(result);
    assert.ok((result.resumedFromStep as number) >= 1, `resumed from step ${result.resumedFromStep}`);
    assert.deepEqual(result.checkpoints, [1, 2, 3]);
    assert.deepEqual(seen.map((p) => p.step), Array.from({ length: 3 - (result.resumedFromStep as number) }, (_, i) => (result.resumedFromStep as number) + i + 1));
    for (const p of seen) for (const k of ['reward', 'kl', 'beta']) assert.ok(Number.isFinite(p.metrics?.[k]), `${k} at step ${p.step}`);

    const version = await repos.modelRegistry.get(result.modelVersion as string);
    assert.ok(version);
    assert.equal(version.kind, 'policy');
    assert.equal(version.status, 'candidate');
    assert.equal(version.parentId, 'policy-toy');
    assert.equal(version.trainingRunId, result.trainingRunId);
    assert.equal(version.metrics.rewardModelVersion, 'reward-good');
    assert.match(version.artifactPath, /^jobs\/job-1\/ppo-[0-9a-f]{24}\/step-0*3$/);
    const run = await repos.training.getRun(result.trainingRunId as string);
    assert.equal(run?.status, 'succeeded');
    assert.equal(run?.kind, 'ppo');
    assert.equal(run?.config.rewardNormalize, true, "a learned RM's scores are normalised");
    const rows = await repos.training.checkpointsOf(result.trainingRunId as string);
    assert.deepEqual(rows.map((r) => r.step), [1, 2, 3]);
    for (const r of rows) assert.ok(r.artifactPath?.startsWith('jobs/job-1/') && Number.isFinite(r.metrics.reward_mean));
  });

  it("the job's learningRate is the run's lr; without it, the service's default", async () => {
    const handler = ppoJobHandler(service);
    const withLr = await handler(context({ rewardModelVersion: 'reward-good', steps: 1, batchSize: 2, learningRate: 3e-4, seed: 5 }));
    assert.equal((await repos.training.getRun(withLr!.trainingRunId as string))?.config.lr, 3e-4);
    const without = await handler(context({ rewardModelVersion: 'reward-good', steps: 1, batchSize: 2, seed: 5 }));
    assert.equal((await repos.training.getRun(without!.trainingRunId as string))?.config.lr, 1e-3, 'this suite\'s service default');
    assert.throws(() => JobParamsSchemas.ppo.parse({ rewardModelVersion: 'reward-good', steps: 1, learningRate: 0 }), /learningRate/);
  });

  it('refuses an unknown or rejected reward model at once, naming it', async () => {
    const handler = ppoJobHandler(service);
    await assert.rejects(handler(context({ rewardModelVersion: 'reward-nope', steps: 1 })), (e: unknown) =>
      e instanceof RewardModelRefusedError && e.retriable === false && e.code === 'reward_model_unknown' && e.message.includes('reward-nope'));
    await assert.rejects(handler(context({ rewardModelVersion: 'reward-bad', steps: 1 })), (e: unknown) =>
      e instanceof RewardModelRefusedError && e.retriable === false && e.code === 'reward_model_rejected' && e.message.includes('reward-bad'));
    await assert.rejects(handler(context({ rewardModelVersion: 'policy-toy', steps: 1 })), (e: unknown) => e instanceof RewardModelRefusedError && /not a reward model/.test(e.message));
  });
});
