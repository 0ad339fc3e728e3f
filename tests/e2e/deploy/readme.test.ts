// Every command in the README's ```bash blocks is run: here (the quick start under a
// real `npm start`, the feedback examples, training → register → promote against the
// running server), or by the test or CI step named in RUN_ELSEWHERE. A README command
// in neither list fails this test. Also the CLI behaviours the README promises: SIGTERM
// reaches the server under `npm start`, `scenario run` exits 1 when turns fail,
// `snapshot` prints only JSON on stdout, unknown OUTERLOOP_* variables are named,
// train-base does not overwrite the shipped model.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '../../unit/deploy/manifests.js';
import { freePort, getStatus, mainJs, waitFor } from '../support/process.js';

const README = readFileSync(join(repoRoot, 'README.md'), 'utf8');

/** ```bash blocks → commands (backslash continuations joined, blank lines and comments dropped) */
function readmeBlocks(): string[][] {
  return [...README.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) =>
    m[1]!
      .replace(/\\\n\s*/g, '')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
  );
}

const normalise = (command: string) => command.replace(/\s+/g, ' ').trim();

/** README commands that a container engine or the real services run; where each is exercised */
const RUN_ELSEWHERE: Record<string, string> = {
  'npm test': '.ci/run (runs exactly this)',
  'npm ci && npm start': '.ci/run runs npm ci; this file runs npm start',
  'docker build -f deploy/Dockerfile -t outerloop:local .': 'no container engine in CI: tests/e2e/deploy/smoke.test.ts builds the image tree and runs it as declared',
  'docker run --rm -v outerloop:/var/lib/outerloop outerloop:local keys create --name me --scopes chat,feedback': 'tests/e2e/deploy/smoke.test.ts (keys create as the image user, in the volume)',
  'docker run -p 8080:8080 -v outerloop:/var/lib/outerloop outerloop:local': 'tests/e2e/deploy/smoke.test.ts (the image example)',
  'docker compose up --build': 'tests/e2e/deploy/smoke.test.ts (every compose service as declared)',
  'OUTERLOOP_MODE=distributed OUTERLOOP_DATABASE_URL=postgres://… OUTERLOOP_KAFKA_BROKERS=host:9092 node dist/src/main.js migrate':
    'tests/e2e/deploy/smoke.test.ts and tests/integration/multi-instance (with the test services for …)',
  'OUTERLOOP_MODE=distributed OUTERLOOP_DATABASE_URL=postgres://… OUTERLOOP_KAFKA_BROKERS=host:9092 node dist/src/main.js start --roles gateway,ingest':
    'tests/integration/multi-instance and tests/integration/ingest (one or more roles per process)',
};

/** the blocks this file runs, by their first command */
const QUICK_START = 'curl -s localhost:8080/readyz';
const FEEDBACK = 'id=$(curl -s localhost:8080/v1/chat/completions';
const TRAIN_AND_SERVE = 'npm run outerloop -- train-base --out /tmp/my-policy';
const RUN_HERE = [QUICK_START, FEEDBACK, TRAIN_AND_SERVE];

function blockStartingWith(prefix: string): string[] {
  const block = readmeBlocks().find((b) => b[0]!.startsWith(prefix));
  assert.ok(block, `README has no bash block starting with ${prefix}`);
  return block;
}

/** curl prints no newline after a body: split `{…}{…}` into its JSON values */
function jsonValues(text: string): unknown[] {
  const values: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') {
      if (depth++ === 0) start = i;
    } else if (ch === '}' && --depth === 0) values.push(JSON.parse(text.slice(start, i + 1)));
  }
  return values;
}

const scratch = mkdtempSync(join(tmpdir(), 'outerloop-readme-'));
const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OUTERLOOP_'))) as Record<string, string>;

test('every README command is run by this file or by the test named for it', () => {
  const unknown: string[] = [];
  for (const block of readmeBlocks()) {
    if (RUN_HERE.some((p) => block[0]!.startsWith(p))) continue;
    for (const command of block) if (!(normalise(command) in RUN_ELSEWHERE)) unknown.push(command);
  }
  assert.deepEqual(unknown, [], 'README commands that no test runs: add them to RUN_ELSEWHERE with the test that runs them, or run them here');
});

test('the README as a new user runs it: npm start, the quick start, feedback, train → register → promote; SIGTERM stops the server', { timeout: 900_000 }, async () => {
  const port = await freePort();
  const env = { ...cleanEnv(), OUTERLOOP_PORT: String(port), OUTERLOOP_DATA_DIR: join(scratch, 'data'), OUTERLOOP_LOG_FORMAT: 'json' };
  const npm = spawn('npm', ['start'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
  npm.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const npmExited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  /** a README block as a bash script, with the README's address and path replaced by this run's */
  const bash = (lines: string[]) => {
    const script = lines.join('\n').replaceAll('localhost:8080', `127.0.0.1:${port}`).replaceAll('/tmp/my-policy', join(scratch, 'my-policy'));
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: repoRoot, env, encoding: 'utf8', timeout: 600_000 });
    assert.equal(r.status, 0, `${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    return r.stdout;
  };
  try {
    await waitFor('npm start: /readyz 200', async () => {
      if (npm.exitCode !== null) throw new Error(`npm start exited ${npm.exitCode}`);
      return (await getStatus(`${url}/readyz`)) === 200 ? true : undefined;
    }, 300_000, () => out);

    const [readyz, chat] = jsonValues(bash(blockStartingWith(QUICK_START)));
    assert.equal((readyz as { ready: boolean }).ready, true);
    const answer = (chat as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content;
    assert.equal(answer, 'The capital of Velmora is Drennport.', 'the README says the shipped model answers this right at temperature 0');

    const feedback = jsonValues(bash(blockStartingWith(FEEDBACK)));
    assert.equal(feedback.length, 2);
    for (const body of feedback) assert.equal((body as { event_ids: string[] }).event_ids.length, 1, JSON.stringify(body));

    const listed = bash(blockStartingWith(TRAIN_AND_SERVE)).trim().split('\n');
    const serving = listed.find((l) => l.includes('(serving)'));
    assert.ok(serving, listed.join('\n'));
    const version = serving.split('\t')[0]!;
    assert.match(version, /^policy-[0-9a-f]{16}$/);
    // the running gateway follows the promotion (model event through the database-backed bus)
    await waitFor(`the running server serves ${version}`, async () => {
      const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: Array<{ outerloop: { routed: boolean; production?: string } }> };
      return models.data.find((m) => m.outerloop.routed)?.outerloop.production === version ? true : undefined;
    }, 120_000, () => out);
    // OUTERLOOP_BASE_POLICY is no longer what serves, and the server says so
    await waitFor('a warning that OUTERLOOP_BASE_POLICY is not served', async () => (out.includes('OUTERLOOP_BASE_POLICY is not what this gateway serves') ? true : undefined), 30_000, () => out);
    // the same registry on the admin API (open here: embedded on loopback)
    const admin = (await (await fetch(`${url}/v1/admin/models`)).json()) as { data: Array<{ version: string; serving: boolean }> };
    assert.deepEqual(admin.data.filter((v) => v.serving).map((v) => v.version), [version]);
    const notAnArtifact = await fetch(`${url}/v1/admin/models`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ artifactDir: scratch }) });
    assert.equal(notAnArtifact.status, 400);
    assert.equal(((await notAnArtifact.json()) as { error: { param: string } }).error.param, 'artifactDir');
    const unknownVersion = await fetch(`${url}/v1/admin/models/policy-0000000000000000/promote`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(unknownVersion.status, 404);
    // the base policy was retired by the promotion: a retired version does not serve again
    const retired = admin.data.find((v) => v.version !== version)!;
    const back = await fetch(`${url}/v1/admin/models/${retired.version}/promote`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'back to the base policy' }) });
    assert.equal(back.status, 409, await back.clone().text());
    assert.equal(((await back.json()) as { error: { code: string } }).error.code, 'version_final');
  } finally {
    npm.kill('SIGTERM');
  }
  assert.equal(await npmExited, 0, out.slice(-3000));
  // npm exec'd the server, so the signal reached it: the port closes
  await waitFor('the server stops after SIGTERM to npm', async () => {
    try {
      await getStatus(`${url}/healthz`);
      return undefined;
    } catch {
      return true;
    }
  }, 30_000, () => out);
});

const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [mainJs, ...args], { cwd: repoRoot, env: { ...cleanEnv(), OUTERLOOP_LOG_FORMAT: 'json', ...env }, encoding: 'utf8', timeout: 300_000 });

test('scenario run exits 1 when its turns fail', () => {
  const r = cli(['scenario', 'run', '--users', '1', '--rate', '2', '--duration', '0.5s', '--url', 'http://127.0.0.1:9']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /turns failed/);
  assert.match(r.stdout, /turns\s+\d+\/\d+ \(ok 0, failed [1-9]/);
});

test('snapshot: stdout is only the JSON result, logs are on stderr; unknown OUTERLOOP_* variables are named with the closest known one', () => {
  const r = cli(['snapshot'], { OUTERLOOP_DATA_DIR: join(scratch, 'snapshot-data'), OUTERLOOP_MIN_MARGN: '2' });
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { id: string };
  assert.match(result.id, /^[0-9a-f]{64}$/);
  assert.match(r.stderr, /"msg":"dataset snapshot created"/);
  assert.match(r.stderr, /unknown configuration variable OUTERLOOP_MIN_MARGN is ignored/);
  const typo = cli(['snapshot', '--help'], { OUTERLOOP_PROT: '1' });
  assert.equal(typo.status, 0);
  const warned = cli(['migrate'], { OUTERLOOP_DATA_DIR: join(scratch, 'typo-data'), OUTERLOOP_PROT: '1' });
  assert.match(warned.stderr, /OUTERLOOP_PROT is ignored; did you mean OUTERLOOP_PORT\?/);
});

test('train-base never overwrites the shipped model without --force', () => {
  const manifest = join(repoRoot, 'models/base-policy/manifest.json');
  const before = statSync(manifest).mtimeMs;
  const r = cli(['train-base', '--out', 'models/base-policy', '--steps', '1']);
  assert.equal(r.status, 64, r.stderr);
  assert.match(r.stderr, /already holds a model artifact; pass --force/);
  assert.equal(statSync(manifest).mtimeMs, before);
});

after(() => {
  spawnSync('rm', ['-rf', scratch]);
});
