// A reward-model run on PostgreSQL, SIGKILLed mid-training and started again, ends with
// the same artifact sha256 as a run that was never interrupted — the process is really
// killed (`outerloop train rm` as a child process), and the second process resumes from
// the checkpoint the first left in the artifact store. Each run has its own database and
// artifact directory.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readArtifactManifest } from '../../../src/engine/artifact/artifact.js';
import { LocalArtifactStore } from '../../../src/platform/artifacts/local-artifact-store.js';
import { Logger } from '../../../src/platform/logging/logger.js';
import { connectWithRetry, createDataSource, runMigrations } from '../../../src/platform/persistence/data-source.js';
import { createRepositories } from '../../../src/platform/persistence/repositories/index.js';
import { scenarioPreferenceRows, storeSnapshot, tinyPolicyArtifact } from '../../unit/rlhf/reward/support.js';
import { createTestDatabase, requireKafka, requirePostgres, waitFor } from '../support/services.js';

const postgres = await requirePostgres();
const kafka = await requireKafka(); // the distributed configuration names brokers; the command itself uses none
const dir = mkdtempSync(join(tmpdir(), 'outerloop-rm-resume-'));
const drops: (() => Promise<void>)[] = [];
after(async () => {
  for (const d of drops) await d();
  rmSync(dir, { recursive: true, force: true });
});

interface World { env: NodeJS.ProcessEnv; artifacts: string; snapshotId: string }

/** A fresh database with the tiny policy as production and one stored snapshot. */
async function world(label: string, policyDir: string): Promise<World> {
  const db = await createTestDatabase(postgres.info!, label);
  drops.push(db.drop);
  const ds = createDataSource({ type: 'postgres', url: db.url }, { poolSize: 2 });
  await connectWithRetry(ds, new Logger('test'), { maxAttempts: 5 });
  await runMigrations(ds);
  const repos = createRepositories(ds);
  const artifacts = join(dir, label);
  const store = new LocalArtifactStore(artifacts);
  const policy = await readArtifactManifest(policyDir);
  await repos.modelRegistry.register({ id: 'policy-tiny', kind: 'policy', artifactPath: policyDir, sha256: policy.artifactId, status: 'production' });
  const rows = scenarioPreferenceRows({ seed: 4, count: 700, bias: '' });
  const snapshotId = await storeSnapshot(repos, store, [...rows.train, ...rows.heldout]);
  await ds.destroy();
  const env = { ...process.env, OUTERLOOP_MODE: 'distributed', OUTERLOOP_DATABASE_URL: db.url, OUTERLOOP_KAFKA_BROKERS: kafka.info!.brokers.join(','), OUTERLOOP_ARTIFACT_DIR: artifacts, OUTERLOOP_LOG_FORMAT: 'json' };
  return { env, artifacts, snapshotId };
}

const MAIN = join(process.cwd(), 'dist', 'src', 'main.js');
const trainArgs = (w: World) => [MAIN, 'train', 'rm', '--snapshot', w.snapshotId, '--epochs', '3', '--seed', '5', '--threads', '1', '--checkpoint-every', '2', '--min-pairs', '20'];

function trainToEnd(w: World): Promise<{ artifactId: string; status: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, trainArgs(w), { env: w.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`train rm exited ${code}: ${err.slice(-2000)}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as { artifactId: string; status: string });
    });
  });
}

const checkpointFiles = (w: World): string[] => {
  const base = join(w.artifacts, 'checkpoints', 'reward');
  return existsSync(base) ? readdirSync(base).flatMap((run) => readdirSync(join(base, run)).filter((f) => f.endsWith('.ckpt'))) : [];
};

describe('[postgres] reward-model run killed and resumed', { skip: postgres.skip || kafka.skip }, () => {
  it('SIGKILL after a checkpoint, run again: same artifact sha256 as an uninterrupted run', async () => {
    const policyDir = await tinyPolicyArtifact({ channels: 48, layers: 2, heads: 2 }, 9);
    const reference = await trainToEnd(await world('rmref', policyDir));

    const w = await world('rmkill', policyDir);
    const child: ChildProcess = spawn(process.execPath, trainArgs(w), { env: w.env, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await waitFor('a checkpoint of the first run', () => checkpointFiles(w).length > 0, 120_000);
    child.kill('SIGSTOP'); // frozen at once, then killed: no handler runs, nothing is cleaned up
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    assert.ok(checkpointFiles(w).length > 0, 'the checkpoint survived the kill');

    const resumed = await trainToEnd(w);
    assert.equal(resumed.artifactId, reference.artifactId);
    assert.equal(resumed.status, 'candidate');
    assert.deepEqual(checkpointFiles(w), [], 'a finished run removes its checkpoints');
  });
});
