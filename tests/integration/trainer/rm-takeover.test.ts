// A `reward_model` job whose trainer process is SIGKILLed mid-training is taken over by a
// DIFFERENT trainer process once the dead one's lease lapses, and resumes from the last
// checkpoint the dead one left under the job's checkpoint prefix: the registered artifact
// has the same sha256 as an uninterrupted run. Both trainers are real child processes
// (rm-trainer-child.ts: the real job handler on a TrainThread); on SQLite + the embedded
// bus and on PostgreSQL + Kafka. Every wait is on the job row (its progress and state) or
// on the checkpoint file, never on time.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readArtifactManifest } from '../../../src/engine/artifact/artifact.js';
import { LocalArtifactStore } from '../../../src/platform/artifacts/local-artifact-store.js';
import { createDataSource, runMigrations } from '../../../src/platform/persistence/data-source.js';
import { createRepositories, type Repositories } from '../../../src/platform/persistence/repositories/index.js';
import { RewardModelService, type RewardModelServiceOptions } from '../../../src/services/trainer/reward-model.service.js';
import { scenarioPreferenceRows, storeSnapshot, tinyPolicyArtifact } from '../../unit/rlhf/reward/support.js';
import { migrateDatabase, openNode, type NodeConfig } from '../jobs/node.js';
import { createTestDatabase, deleteKafkaTopics, requireKafka, requirePostgres, uniquePrefix, waitFor } from '../support/services.js';
import type { RmTrainerChildConfig } from './rm-trainer-child.js';

const kafka = await requireKafka();
const postgres = await requirePostgres();
const dir = mkdtempSync(join(tmpdir(), 'outerloop-rm-takeover-'));
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

const CHILD = join(import.meta.dirname, 'rm-trainer-child.js');
const SERVICE: RewardModelServiceOptions = { minPairs: 20, intraOpThreads: 1, checkpointEvery: 2, qualityGate: null };
const PARAMS = { seed: 5, epochs: 3 };
// long enough that a loaded machine never lets a live trainer's lease lapse; the successor waits this long after the kill
const LEASE_MS = 10_000;
const ROWS = scenarioPreferenceRows({ seed: 4, count: 700, bias: '' });

let policyDir: string | null = null;
const policy = async (): Promise<string> => (policyDir ??= await tinyPolicyArtifact({ channels: 48, layers: 2, heads: 2 }, 9));

/** The tiny policy as production and the snapshot, in a fresh registry and artifact store. */
async function seedWorld(repos: Repositories, artifactDir: string): Promise<string> {
  const dir = await policy();
  await repos.modelRegistry.register({ id: 'policy-tiny', kind: 'policy', artifactPath: dir, sha256: (await readArtifactManifest(dir)).artifactId, status: 'production' });
  return storeSnapshot(repos, new LocalArtifactStore(artifactDir), [...ROWS.train, ...ROWS.heldout]);
}

/** The uninterrupted run, in this process (SQLite): the sha256 both takeovers must reproduce. */
let reference: Promise<string> | null = null;
function uninterruptedArtifactId(): Promise<string> {
  return (reference ??= (async () => {
    const ds = createDataSource({ type: 'better-sqlite3', path: join(dir, 'reference.sqlite') });
    await ds.initialize();
    await runMigrations(ds);
    try {
      const repos = createRepositories(ds);
      const artifacts = join(dir, 'reference-artifacts');
      const snapshotId = await seedWorld(repos, artifacts);
      const outcome = await new RewardModelService(repos, new LocalArtifactStore(artifacts), SERVICE).train({ snapshotId, config: PARAMS });
      return outcome.summary.manifest.artifactId;
    } finally {
      await ds.destroy();
    }
  })());
}

interface Trainer {
  child: ChildProcess;
  owner: string;
}

async function startTrainer(config: RmTrainerChildConfig): Promise<Trainer> {
  const child = spawn(process.execPath, [CHILD], {
    env: { ...process.env, OUTERLOOP_TEST_RM_TRAINER: JSON.stringify(config), OUTERLOOP_LOG_LEVEL: 'warn', OUTERLOOP_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  const owner = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const m = /READY (\S+)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code, signal) => reject(new Error(`trainer exited (code ${code}, signal ${signal}) before READY: ${out}`)));
  });
  return { child, owner };
}

/** Checkpoint files the job's attempts left under its checkpoint prefix. */
function checkpointsOf(artifactDir: string, jobId: string): string[] {
  const base = join(artifactDir, 'jobs', jobId);
  if (!existsSync(base)) return [];
  return readdirSync(base, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ckpt'));
}

function takeoverSuite(tag: string, stores: () => Promise<{ node: NodeConfig; migrate(): Promise<void> }>): void {
  it(`${tag} trainer A SIGKILLed mid-training; trainer B takes the job over after the lease and resumes: same sha256 as an uninterrupted run`, { timeout: 600_000 }, async () => {
    const expected = await uninterruptedArtifactId();
    const { node: nodeConfig, migrate } = await stores();
    await migrate();
    const node = await openNode(nodeConfig);
    cleanups.push(() => node.close());
    const repos = createRepositories(node.dataSource);
    const artifactDir = mkdtempSync(join(dir, 'artifacts-'));
    const snapshotId = await seedWorld(repos, artifactDir);
    const childConfig: RmTrainerChildConfig = { node: nodeConfig, artifactDir, leaseMs: LEASE_MS, heartbeatMs: 500, service: SERVICE };

    const a = await startTrainer(childConfig);
    const { job } = await node.queue.enqueue('reward_model', { snapshotId, ...PARAMS });
    // mid-training: the row reports steps past a checkpoint, and the checkpoint is on disk
    const progressed = await waitFor('trainer A past its second checkpoint', async () => {
      const j = await node.queue.get(job.id);
      assert.notEqual(j.state, 'succeeded', 'the run ended before it could be killed; make it longer');
      return j.state === 'running' && (j.progress?.step ?? 0) >= 2 * SERVICE.checkpointEvery! + 1 && checkpointsOf(artifactDir, job.id).length > 0 ? j : null;
    }, 300_000, 100);
    const exited = once(a.child, 'exit');
    a.child.kill('SIGSTOP'); // frozen at once, then killed: no handler runs, no lease is released
    a.child.kill('SIGKILL');
    const [, signal] = (await exited) as [number | null, string | null];
    assert.equal(signal, 'SIGKILL');

    const orphan = await node.queue.get(job.id);
    assert.equal(orphan.state, 'running', 'nobody has taken the job over yet');
    assert.equal(orphan.leaseOwner, a.owner);
    assert.equal(orphan.attempts, 1);
    const killedAtStep = orphan.progress!.step;
    assert.ok(killedAtStep >= progressed.progress!.step && killedAtStep < orphan.progress!.total!, `killed mid-training at step ${killedAtStep} of ${orphan.progress!.total}`);
    assert.ok(checkpointsOf(artifactDir, job.id).length > 0, 'the checkpoint survived the kill');

    const b = await startTrainer(childConfig);
    assert.notEqual(b.owner, a.owner);
    const done = await waitFor('trainer B to finish the job', async () => {
      const j = await node.queue.get(job.id);
      return j.state === 'succeeded' || j.state === 'failed' ? j : null;
    }, 480_000, 200);
    assert.equal(done.state, 'succeeded', done.error ?? '');
    assert.equal(done.attempts, 2, 'taken over once');
    const resumedFrom = done.result!.resumedFromStep as number[];
    // not bounded by killedAtStep: the row's progress trails the training thread, which may
    // have saved a later checkpoint than the last step the row shows
    assert.ok(resumedFrom[0]! > 0, `B resumed from step ${resumedFrom[0]} (the row showed A at ${killedAtStep}), not from the start`);
    assert.equal(done.result!.artifactId, expected, 'the same artifact sha256 as the uninterrupted run');
    const version = await repos.modelRegistry.get(String(done.result!.modelVersion));
    assert.equal(version?.sha256, expected);
    assert.deepEqual(checkpointsOf(artifactDir, job.id), [], 'the finished run removed its checkpoints');
    b.child.kill('SIGTERM');
    await once(b.child, 'exit');
  });
}

describe('[sqlite] reward_model takeover by a second trainer, embedded bus', () => {
  takeoverSuite('[sqlite]', async () => {
    const node: NodeConfig = { database: { type: 'better-sqlite3', path: join(dir, `${uniquePrefix('rmtake')}.sqlite`) }, bus: { adapter: 'embedded' }, topicPrefix: `${uniquePrefix('rmtake')}.` };
    return { node, migrate: () => migrateDatabase(node.database) };
  });
});

describe('[kafka+postgres] reward_model takeover by a second trainer', { skip: kafka.skip || postgres.skip }, () => {
  takeoverSuite('[kafka+postgres]', async () => {
    const db = await createTestDatabase(postgres.info!, 'rmtake');
    const topicPrefix = `${uniquePrefix('rmtake')}.`;
    cleanups.push(async () => {
      await deleteKafkaTopics(kafka.info!, topicPrefix);
      await db.drop();
    });
    const node: NodeConfig = { database: { type: 'postgres', url: db.url }, bus: { adapter: 'kafka', brokers: kafka.info!.brokers }, topicPrefix };
    return { node, migrate: () => migrateDatabase(node.database) };
  });
});
