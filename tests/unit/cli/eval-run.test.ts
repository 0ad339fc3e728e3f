// `outerloop eval --run`: what it refuses before any evaluation, each naming the flag
// (the run evaluation itself is tested through the service and the job:
// tests/unit/services/evaluator/run-evaluation.test.ts).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli as run } from './run-cli.js';

describe('outerloop eval --run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outerloop-eval-run-'));
  const env = { ...process.env, OUTERLOOP_MODE: 'embedded', OUTERLOOP_DATA_DIR: dir, OUTERLOOP_ARTIFACT_DIR: join(dir, 'artifacts'), OUTERLOOP_LOG_FORMAT: 'json', OUTERLOOP_LOG_LEVEL: 'warn' };
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses --candidate with --run, and run-only flags without --run', async () => {
    const both = await run(['eval', '--candidate', 'x', '--run', 'y'], env);
    assert.equal(both.code, 64);
    assert.match(both.stderr, /--candidate or --run, not both/);
    const stray = await run(['eval', '--candidate', 'x', '--every', '2'], env);
    assert.equal(stray.code, 64);
    assert.match(stray.stderr, /--every goes with --run/);
  });

  it('names a run that is neither on record nor a directory, and a directory without checkpoints', async () => {
    const unknown = await run(['eval', '--run', join(dir, 'no-such-run'), '--rm', 'rm-1'], env);
    assert.equal(unknown.code, 64);
    assert.match(unknown.stderr, /--run: ".*no-such-run" is neither a training run on record nor a directory/);
    mkdirSync(join(dir, 'empty-run'));
    const empty = await run(['eval', '--run', join(dir, 'empty-run'), '--rm', 'rm-1'], env);
    assert.equal(empty.code, 64);
    assert.match(empty.stderr, /holds no step-NNNNNN checkpoint artifacts/);
  });
});
