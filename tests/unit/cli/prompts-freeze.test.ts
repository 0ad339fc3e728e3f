// `outerloop prompts freeze` end to end on SQLite: the completion log's prompts before
// --to, an eval-suite prompt left out, stored where `train ppo --prompts ID` loads it;
// one JSON object on stdout; too few prompts and a bad --to fail with the reason.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalArtifactStore } from '../../../src/platform/artifacts/local-artifact-store.js';
import { createDataSource, runMigrations } from '../../../src/platform/persistence/data-source.js';
import { createRepositories } from '../../../src/platform/persistence/repositories/index.js';
import { scenarioSuites } from '../../../src/scenario/eval-suites.js';
import { loadPromptSet } from '../../../src/services/trainer/optimisation-inputs.js';
import { sampleCompletion } from '../platform/persistence/persistence.contract.js';
import { runCli as run } from './run-cli.js';

describe('outerloop prompts freeze', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outerloop-prompts-freeze-'));
  const env = { ...process.env, OUTERLOOP_MODE: 'embedded', OUTERLOOP_DATA_DIR: dir, OUTERLOOP_ARTIFACT_DIR: join(dir, 'artifacts'), OUTERLOOP_LOG_FORMAT: 'json', OUTERLOOP_LOG_LEVEL: 'warn' };
  const evalPrompt = scenarioSuites()[1]!.promptSet.prompts[0]!.messages.at(-1)!.content;

  before(async () => {
    const ds = createDataSource({ type: 'better-sqlite3', path: join(dir, 'outerloop.sqlite') });
    await ds.initialize();
    await runMigrations(ds);
    const prompts = ['How do I kill a process?', 'How do I kill a  process?', 'Translate hello to French.', evalPrompt, 'asked later'];
    await createRepositories(ds).completions.insertIgnoringDuplicates(
      prompts.map((p, i) => sampleCompletion(`c-${i}`, { messages: [{ role: 'user', content: p }], createdAt: new Date(Date.UTC(2026, 10, 27, 5, i)) })),
    );
    await ds.destroy();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the id and counts as one JSON object and stores the set; the same --to gives the same id', async () => {
    const args = ['prompts', 'freeze', '--to', '2026-11-27T05:04:00Z', '--min-prompts', '2'];
    const r = await run(args, env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual({ ...out, id: '<id>' }, { id: '<id>', to: '2026-11-27T05:04:00.000Z', prompts: 2, seen: 4, duplicates: 1, excluded: 1, empty: 0 });
    assert.deepEqual(await loadPromptSet(new LocalArtifactStore(join(dir, 'artifacts')), String(out.id)), ['How do I kill a process?', 'Translate hello to French.']);
    const again = await run(args, env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { id: string }).id, out.id);
  });

  it('fails naming the count when fewer prompts than --min-prompts remain, and refuses a bad --to', async () => {
    const small = await run(['prompts', 'freeze', '--to', '2026-11-27T05:04:00Z', '--min-prompts', '3'], env);
    assert.equal(small.code, 1, small.stderr);
    assert.match(small.stderr, /RL prompt set: 2 distinct non-eval prompt\(s\).*at least 3 required/);
    const bad = await run(['prompts', 'freeze', '--to', 'yesterday'], env);
    assert.equal(bad.code, 64, bad.stderr);
    assert.match(bad.stderr, /--to needs an ISO 8601 time, got "yesterday"/);
  });
});
