// The `rejection_sampling` and `best_of_n` jobs on SQLite with a tiny policy and a tiny
// two-member reward model: rejection sampling registers a candidate policy with its lineage
// (parent policy, training run, RM version, n) and a checkpoint row, and a cancelled attempt
// that had finished sampling is resumed by the next one from the kept winners; best-of-n
// returns its figures (best ≥ one sample, the KL bound, n× the tokens); both refuse an
// unknown, rejected or judge reward model at once, naming it.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import { readArtifactManifest } from '../../../../src/engine/artifact/artifact.js';
import { writeRewardArtifact } from '../../../../src/engine/artifact/reward-artifact.js';
import { TrainingCancelledError } from '../../../../src/engine/train/training-program.js';
import type { JobContext } from '../../../../src/platform/jobs/job-handlers.js';
import { Logger } from '../../../../src/platform/logging/logger.js';
import { JobParamsSchemas, type JobProgressInput } from '../../../../src/platform/messaging/events.js';
import { LocalArtifactStore } from '../../../../src/platform/artifacts/local-artifact-store.js';
import { createDataSource, runMigrations } from '../../../../src/platform/persistence/data-source.js';
import { createRepositories, type Repositories } from '../../../../src/platform/persistence/repositories/index.js';
import type { JobKind } from '../../../../src/domain/jobs.js';
import { bestOfNJobHandler } from '../../../../src/services/trainer/best-of-n.job.js';
import { BestOfNService } from '../../../../src/services/trainer/best-of-n.service.js';
import { rejectionSamplingJobHandler } from '../../../../src/services/trainer/rejection-sampling.job.js';
import { RejectionSamplingService } from '../../../../src/services/trainer/rejection-sampling.service.js';
import { RewardModelRefusedError } from '../../../../src/services/reward-model-version.js';
import { randomParameters } from '../../engine/runtime/fixture.js';
import { TOY_PROMPTS, toyWorld, writeToyPolicy } from '../../rlhf/ppo/toy.js';

describe('rejection_sampling and best_of_n jobs (SQLite, tiny policy and reward model)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outerloop-bon-job-'));
  const toy = toyWorld();
  let ds: DataSource;
  let repos: Repositories;
  let artifacts: LocalArtifactStore;
  let rs: RejectionSamplingService;
  let bon: BestOfNService;

  before(async () => {
    ds = createDataSource({ type: 'better-sqlite3', path: join(dir, 'db.sqlite') });
    await ds.initialize();
    await runMigrations(ds);
    repos = createRepositories(ds);
    artifacts = new LocalArtifactStore(join(dir, 'artifacts'));
    const policyDir = await writeToyPolicy(toy, join(dir, 'policy'));
    await repos.modelRegistry.register({ id: 'policy-toy', kind: 'policy', artifactPath: policyDir, sha256: (await readArtifactManifest(policyDir)).artifactId, status: 'production' });
    for (const [id, seed, metrics] of [['reward-good', 11, {}], ['reward-bad', 21, {}], ['reward-judge', 31, { judge: true }]] as const) {
      const manifest = await writeRewardArtifact(join(dir, id), {
        members: [randomParameters(toy.config, seed, 0.3), randomParameters(toy.config, seed + 1, 0.3)], tokenizer: toy.tokenizer,
        meta: { parentArtifactId: null, datasetSnapshotId: null, trainingRunId: null, training: {}, metrics: {} },
      });
      await repos.modelRegistry.register({ id, kind: 'reward', parentId: 'policy-toy', artifactPath: join(dir, id), sha256: manifest.artifactId, metrics });
    }
    await repos.modelRegistry.transition('reward-bad', 'rejected');
    const options = { defaultPrompts: TOY_PROMPTS, maxTokens: 3, intraOpThreads: 1 };
    rs = new RejectionSamplingService({ modelRegistry: repos.modelRegistry, training: repos.training }, artifacts, { ...options, lr: 1e-3, batchSize: 4 });
    bon = new BestOfNService({ modelRegistry: repos.modelRegistry }, artifacts, options);
  });
  after(async () => {
    await ds?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  function context<K extends 'rejection_sampling' | 'best_of_n'>(kind: K, raw: unknown, controller = new AbortController(), onProgress: (p: JobProgressInput) => void = () => {}): JobContext<K> {
    return {
      job: { id: 'job-1', kind: kind as JobKind, params: JobParamsSchemas[kind].parse(raw), idempotencyKey: null, maxAttempts: 3 },
      attempt: 1, signal: controller.signal, checkpoint: { prefix: 'jobs/job-1/' }, log: new Logger('test'),
      progress: async (p: JobProgressInput) => onProgress(p),
    } as unknown as JobContext<K>;
  }

  it('rejection sampling: a cancel after sampling keeps the winners; the next attempt reuses them and registers a candidate', async () => {
    const params = { rewardModelVersion: 'reward-good', n: 4, epochs: 2, objective: 'wco', seed: 5 };
    const handler = rejectionSamplingJobHandler(rs);
    const controller = new AbortController();
    // TOY_PROMPTS is one chunk of 8: step 1 is the sampling, steps 2.. the SFT steps
    await assert.rejects(handler(context('rejection_sampling', params, controller, (p) => { if (p.step === 1) controller.abort(); })), (e: unknown) => e instanceof TrainingCancelledError);

    const seen: JobProgressInput[] = [];
    const result = await handler(context('rejection_sampling', params, new AbortController(), (p) => seen.push(p)));
    assert.ok(result);
    assert.equal(result.reusedSelection, true);
    assert.equal(result.steps, 4); // ⌈2 epochs × 8 prompts / 4⌉
    assert.deepEqual(seen.map((p) => p.step), [2, 3, 4, 5], 'only the SFT steps run again');
    for (const p of seen) assert.ok(Number.isFinite(p.loss), `loss at step ${p.step}`);
    assert.ok((result.bestMeanScore as number) >= (result.sampleMeanScore as number));
    assert.ok(Math.abs((result.klBound as number) - (Math.log(4) - 3 / 4)) < 1e-12);

    const version = await repos.modelRegistry.get(result.modelVersion as string);
    assert.ok(version);
    assert.equal(version.kind, 'policy');
    assert.equal(version.status, 'candidate');
    assert.equal(version.parentId, 'policy-toy');
    assert.equal(version.trainingRunId, result.trainingRunId);
    assert.equal(version.metrics.rewardModelVersion, 'reward-good');
    assert.equal(version.metrics.trainer, 'rejection_sampling');
    assert.equal(version.metrics.n, 4);
    assert.match(version.artifactPath, /^jobs\/job-1\/rs-[0-9a-f]{24}\/policy$/);
    assert.equal((await readArtifactManifest(artifacts.resolve(version.artifactPath))).artifactId, version.sha256);
    assert.ok(existsSync(artifacts.resolve(version.artifactPath.replace(/policy$/, 'selection/step-000000/state.json'))));
    const run = await repos.training.getRun(result.trainingRunId as string);
    assert.equal(run?.status, 'succeeded');
    const rows = await repos.training.checkpointsOf(result.trainingRunId as string);
    assert.deepEqual(rows.map((r) => r.step), [4]);
    assert.ok(Number.isFinite(rows[0]!.metrics.best_score_mean));
  });

  it('best-of-n: the job result holds the figures; progress per chunk with the best score', async () => {
    const seen: JobProgressInput[] = [];
    const result = await bestOfNJobHandler(bon)(context('best_of_n', { rewardModelVersion: 'reward-good', n: 8, seed: 2 }, new AbortController(), (p) => seen.push(p)));
    assert.ok(result);
    assert.equal(result.n, 8);
    assert.equal(result.prompts, TOY_PROMPTS.length);
    assert.equal(result.samples, 8 * TOY_PROMPTS.length);
    assert.ok((result.bestMeanScore as number) >= (result.sampleMeanScore as number));
    assert.ok((result.gain as number) >= 0);
    assert.ok(Math.abs((result.klBound as number) - (Math.log(8) - 7 / 8)) < 1e-12);
    assert.ok((result.costFactor as number) > 1, `cost factor ${result.costFactor}`);
    assert.equal(result.policyVersion, 'policy-toy');
    assert.deepEqual(seen.map((p) => p.step), [1]);
    assert.equal(seen[0]!.loss, null, 'sampling has no loss: null, not NaN');
    assert.ok(Number.isFinite(seen[0]!.metrics?.best_score));
  });

  it('both refuse an unknown, rejected or judge reward model at once, naming it', async () => {
    for (const [kind, handler, extra] of [['rejection_sampling', rejectionSamplingJobHandler(rs), {}], ['best_of_n', bestOfNJobHandler(bon), {}]] as const) {
      const run = (rm: string) => (handler as (c: unknown) => Promise<unknown>)(context(kind, { rewardModelVersion: rm, n: 2, ...extra }));
      await assert.rejects(run('reward-nope'), (e: unknown) => e instanceof RewardModelRefusedError && e.retriable === false && e.code === 'reward_model_unknown' && e.message.includes('reward-nope'));
      await assert.rejects(run('reward-bad'), (e: unknown) => e instanceof RewardModelRefusedError && e.code === 'reward_model_rejected' && e.message.includes('reward-bad'));
      await assert.rejects(run('reward-judge'), (e: unknown) => e instanceof RewardModelRefusedError && e.retriable === false && e.code === 'reward_model_is_judge' && e.message.includes('reward-judge'));
    }
  });
});
