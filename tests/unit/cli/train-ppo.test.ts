// `outerloop train ppo`, `train rs` and `train dpo` end to end on SQLite: a stored prompt
// set and dataset snapshot, a tiny policy and a tiny reward model registered; each command prints one JSON result on stdout
// (a registered candidate, its figures), progress lines on stderr, and refuses a missing
// --rm (and, for rs, a missing --n).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readArtifactManifest } from '../../../src/engine/artifact/artifact.js';
import { writeRewardArtifact } from '../../../src/engine/artifact/reward-artifact.js';
import { createDataSource, runMigrations } from '../../../src/platform/persistence/data-source.js';
import { createRepositories } from '../../../src/platform/persistence/repositories/index.js';
import { freezePromptSet, PROMPT_SET_FORMAT } from '../../../src/rlhf/prompts/prompt-set.js';
import { LocalArtifactStore } from '../../../src/platform/artifacts/local-artifact-store.js';
import { randomParameters } from '../engine/runtime/fixture.js';
import { BASE_POLICY_DIR, scenarioPreferenceRows, storeSnapshot } from '../rlhf/reward/support.js';
import { TOY_PROMPTS, toyWorld, writeToyPolicy } from '../rlhf/ppo/toy.js';
import { runCli as run } from './run-cli.js';

describe('outerloop train ppo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outerloop-train-ppo-'));
  const env = { ...process.env, OUTERLOOP_MODE: 'embedded', OUTERLOOP_DATA_DIR: dir, OUTERLOOP_ARTIFACT_DIR: join(dir, 'artifacts'), OUTERLOOP_LOG_FORMAT: 'json', OUTERLOOP_LOG_LEVEL: 'warn' };
  let promptSetId = '';
  let snapshotId = '';

  before(async () => {
    const toy = toyWorld();
    const ds = createDataSource({ type: 'better-sqlite3', path: join(dir, 'outerloop.sqlite') });
    await ds.initialize();
    await runMigrations(ds);
    const repos = createRepositories(ds);
    const policyDir = await writeToyPolicy(toy, join(dir, 'policy'));
    await repos.modelRegistry.register({ id: 'policy-toy', kind: 'policy', artifactPath: policyDir, sha256: (await readArtifactManifest(policyDir)).artifactId, status: 'production' });
    const rm = await writeRewardArtifact(join(dir, 'rm'), {
      members: [randomParameters(toy.config, 31, 0.3)], tokenizer: toy.tokenizer,
      meta: { parentArtifactId: null, datasetSnapshotId: null, trainingRunId: null, training: {}, metrics: {} },
    });
    await repos.modelRegistry.register({ id: 'reward-toy', kind: 'reward', artifactPath: join(dir, 'rm'), sha256: rm.artifactId });
    // DPO runs on the base policy: the scenario's pairs are longer than the toy's context
    await repos.modelRegistry.register({ id: 'policy-base', kind: 'policy', artifactPath: BASE_POLICY_DIR, sha256: (await readArtifactManifest(BASE_POLICY_DIR)).artifactId, status: 'candidate' });
    const rows = scenarioPreferenceRows({ seed: 5, count: 12, bias: 'honest' });
    snapshotId = await storeSnapshot(repos, new LocalArtifactStore(join(dir, 'artifacts')), [...rows.train, ...rows.heldout], { heldoutFraction: 0.1 });
    await ds.destroy();
    const set = freezePromptSet(TOY_PROMPTS);
    promptSetId = set.id;
    mkdirSync(join(dir, 'artifacts', 'prompt-sets'), { recursive: true });
    writeFileSync(join(dir, 'artifacts', 'prompt-sets', `${set.id}.json`), JSON.stringify({ format: PROMPT_SET_FORMAT, id: set.id, prompts: set.prompts }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs PPO against the named RM and prints the registered candidate as JSON', async () => {
    const r = await run(['train', 'ppo', '--rm', 'reward-toy', '--prompts', promptSetId, '--steps', '2', '--seed', '4', '--batch', '4', '--max-tokens', '3', '--threads', '1', '--checkpoint-every', '1'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { version: string; status: string; rewardModelVersion: string; steps: number; checkpoints: { step: number; reward: number }[] };
    assert.equal(out.status, 'candidate');
    assert.equal(out.rewardModelVersion, 'reward-toy');
    assert.equal(out.steps, 2);
    assert.deepEqual(out.checkpoints.map((c) => c.step), [1, 2]);
    assert.ok(out.checkpoints.every((c) => Number.isFinite(c.reward)));
    assert.match(r.stderr, /train ppo: step 2\/2 reward -?\d+\.\d+ KL -?\d+\.\d+/);
  });

  it('train rs: best-of-n then SFT on the winners against the named RM; the registered candidate as JSON, progress lines on stderr', async () => {
    const r = await run(['train', 'rs', '--rm', 'reward-toy', '--n', '4', '--prompts', promptSetId, '--epochs', '2', '--batch', '4', '--max-tokens', '3', '--threads', '1', '--seed', '2'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { version: string; status: string; rewardModelVersion: string; steps: number; reusedSelection: boolean; selection: { n: number; bestMeanScore: number; sampleMeanScore: number; klBound: number } };
    assert.equal(out.status, 'candidate');
    assert.equal(out.rewardModelVersion, 'reward-toy');
    assert.equal(out.steps, 4); // ⌈2 epochs × 8 prompts / 4⌉
    assert.equal(out.reusedSelection, false);
    assert.equal(out.selection.n, 4);
    assert.ok(out.selection.bestMeanScore >= out.selection.sampleMeanScore);
    assert.match(r.stderr, /train rs: step 5\/5 loss \d+\.\d+/);
    const missingN = await run(['train', 'rs', '--rm', 'reward-toy'], env);
    assert.equal(missingN.code, 64);
    assert.match(missingN.stderr, /--n is required/);
  });

  it('train dpo: DPO on the snapshot\'s pairs; the registered candidate as JSON, progress lines on stderr', async () => {
    const r = await run(['train', 'dpo', '--snapshot', snapshotId, '--policy', 'policy-base', '--beta', '0.1', '--batch', '4', '--lr', '1e-5', '--threads', '1'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { version: string; status: string; snapshotId: string; pairs: number; steps: number; finalLoss: number };
    assert.equal(out.status, 'candidate');
    assert.equal(out.snapshotId, snapshotId);
    assert.ok(out.pairs > 0);
    assert.equal(out.steps, Math.ceil(out.pairs / 4));
    assert.ok(Number.isFinite(out.finalLoss));
    assert.match(r.stderr, new RegExp(`train dpo: step ${out.steps}/${out.steps} loss \\d+\\.\\d+ acc`));
    const missing = await run(['train', 'dpo'], env);
    assert.equal(missing.code, 64);
    assert.match(missing.stderr, /--snapshot is required/);
  });

  it('requires --rm and names a refused reward model', async () => {
    const missing = await run(['train', 'ppo', '--steps', '1'], env);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /--rm is required/);
    const unknown = await run(['train', 'ppo', '--rm', 'reward-nope', '--steps', '1'], env);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /reward-nope/);
  });
});
