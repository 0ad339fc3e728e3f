// The trainer role's `reward_model` jobs through the durable job contract, on both modes:
// SQLite + the embedded bus, and PostgreSQL + Kafka. A job trains, evaluates and registers
// an RM (tiny GPT, a scenario snapshot) with its progress on the job row; an unknown
// snapshot fails the job at once (not retried), naming the id, and registers nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readArtifactManifest } from '../../../src/engine/artifact/artifact.js';
import { LocalArtifactStore } from '../../../src/platform/artifacts/local-artifact-store.js';
import { JobHandlers } from '../../../src/platform/jobs/job-handlers.js';
import { createRepositories } from '../../../src/platform/persistence/repositories/index.js';
import { rewardModelJobHandler } from '../../../src/services/trainer/reward-model.job.js';
import { RewardModelService, rmEvaluationId } from '../../../src/services/trainer/reward-model.service.js';
import { scenarioPreferenceRows, storeSnapshot, tinyPolicyArtifact } from '../../unit/rlhf/reward/support.js';
import { migrateDatabase, openNode, type NodeConfig } from '../jobs/node.js';
import { createTestDatabase, deleteKafkaTopics, requireKafka, requirePostgres, uniquePrefix, waitFor } from '../support/services.js';

const kafka = await requireKafka();
const postgres = await requirePostgres();
const dir = mkdtempSync(join(tmpdir(), 'outerloop-rm-job-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function rmJobSuite(label: string, stores: () => Promise<{ config: NodeConfig; drop(): Promise<void> }>): void {
  it(`${label} a reward_model job trains, registers and reports progress; an unknown snapshot fails at once`, async () => {
    const { config, drop } = await stores();
    await migrateDatabase(config.database);
    const node = await openNode(config);
    try {
      const repos = createRepositories(node.dataSource);
      const artifacts = new LocalArtifactStore(join(dir, uniquePrefix('artifacts')));
      const policyDir = await tinyPolicyArtifact();
      const policy = await readArtifactManifest(policyDir);
      await repos.modelRegistry.register({ id: 'policy-tiny', kind: 'policy', artifactPath: policyDir, sha256: policy.artifactId, status: 'production' });
      const rows = scenarioPreferenceRows({ seed: 8, count: 240, bias: '' });
      const snapshotId = await storeSnapshot(repos, artifacts, [...rows.train, ...rows.heldout]);

      const handlers = new JobHandlers();
      handlers.register('reward_model', rewardModelJobHandler(new RewardModelService(repos, artifacts, { minPairs: 20, qualityGate: { lengthCorrelation: { max: 0.9 } }, intraOpThreads: 1 })));
      await node.startWorker(handlers, { leaseMs: 60_000 });

      const { job } = await node.queue.enqueue('reward_model', { snapshotId: snapshotId, seed: 3, ensemble: 2, epochs: 1 });
      const done = await waitFor('the reward_model job to finish', async () => {
        const j = await node.queue.get(job.id);
        return j.state === 'succeeded' || j.state === 'failed' ? j : null;
      }, 240_000, 200);
      assert.equal(done.state, 'succeeded', done.error ?? '');
      const version = await repos.modelRegistry.get(String(done.result!.modelVersion));
      assert.ok(version, 'the job registered its version');
      assert.equal(version.kind, 'reward');
      assert.equal(version.parentId, 'policy-tiny');
      assert.equal(version.datasetSnapshotId, snapshotId);
      assert.equal(done.result!.members, 2);
      assert.equal(done.progress!.step, done.progress!.total, 'the last progress report is the last step');
      assert.ok(Number(done.progress!.loss) > 0);
      assert.equal((await repos.evaluations.byEvaluation(rmEvaluationId(version.id))).length, 2);
      assert.equal(await artifacts.exists(`jobs/${job.id}/reward-${done.result!.trainingRunId}/member-0.ckpt`), false, 'a finished run leaves no checkpoints');

      const unknown = 'e'.repeat(64);
      const bad = (await node.queue.enqueue('reward_model', { snapshotId: unknown })).job;
      const failed = await waitFor('the bad job to fail', async () => {
        const j = await node.queue.get(bad.id);
        return j.state === 'failed' ? j : null;
      }, 60_000, 100);
      assert.equal(failed.attempts, 1, 'not retried');
      assert.match(failed.error ?? '', new RegExp(unknown));
      assert.equal((await repos.modelRegistry.findByStatus('reward', 'candidate')).length, 1);
    } finally {
      await node.close();
      await drop();
    }
  });
}

describe('[sqlite] reward_model jobs, embedded mode', () => {
  rmJobSuite('[sqlite]', async () => ({
    config: { database: { type: 'better-sqlite3', path: join(dir, `${uniquePrefix('rmjob')}.sqlite`) }, bus: { adapter: 'embedded' }, topicPrefix: `${uniquePrefix('rmjob')}.` },
    drop: async () => undefined,
  }));
});

describe('[kafka+postgres] reward_model jobs, distributed mode', { skip: kafka.skip || postgres.skip }, () => {
  rmJobSuite('[kafka+postgres]', async () => {
    const db = await createTestDatabase(postgres.info!, 'rmjob');
    const topicPrefix = `${uniquePrefix('rmjob')}.`;
    return {
      config: { database: { type: 'postgres', url: db.url }, bus: { adapter: 'kafka', brokers: kafka.info!.brokers }, topicPrefix },
      drop: async () => {
        await deleteKafkaTopics(kafka.info!, topicPrefix);
        await db.drop();
      },
    };
  });
});
