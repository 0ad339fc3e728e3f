// The CLI's help tells the truth: every option a command accepts is in its --help
// (the accepted list is read from the command's own usage error), every command has
// --help, usage errors exit 64 with one line, and docs/cli.md is the same text.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { COMMANDS, renderCliReference } from '../../../src/cli/commands.js';
import { repoRoot } from './manifests.js';

const main = join(repoRoot, 'dist/src/main.js');
// A bound only against a hung child, not a speed claim: under a CPU hog, with the other
// unit files running beside it, one spawn of the CLI once took longer than 60 s.
const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { cwd: repoRoot, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, timeout: 300_000 });

/** the subcommand that reaches option parsing without touching a database */
const PROBE: Record<string, string[]> = { keys: ['create'], prompts: ['freeze'], models: ['promote', 'v'], scenario: ['run'], train: ['rm'] };

test('docs/cli.md is the help text', () => {
  assert.equal(readFileSync(join(repoRoot, 'docs/cli.md'), 'utf8'), renderCliReference(), 'stale: regenerate docs/cli.md from renderCliReference()');
});

for (const c of COMMANDS) {
  test(`outerloop ${c.name}: --help lists every option the command accepts; a bad option exits 64 in one line`, () => {
    const help = cli(c.name, '--help');
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^usage: outerloop ${c.name}`));
    const bad = cli(c.name, ...(PROBE[c.name] ?? []), '--no-such-option');
    assert.equal(bad.status, 64, bad.stderr);
    const lines = bad.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line, no stack trace:\n${bad.stderr}`);
    assert.match(lines[0]!, new RegExp(`^outerloop ${c.name}: .*no-such-option`));
    const accepted = [...(/(?:allowed|flags): ([^)]*)\)/.exec(lines[0]!)?.[1] ?? '').matchAll(/--[a-z-]+/g)].map((m) => m[0]);
    for (const flag of accepted) assert.match(help.stdout, new RegExp(`${flag}\\b`), `${c.name} accepts ${flag} but --help does not mention it`);
  });
}

test('unknown commands and missing operands are usage errors (64), not crashes', () => {
  for (const args of [['frobnicate'], ['models'], ['models', 'register'], ['keys', 'create'], ['train-base', 'extra']]) {
    const r = cli(...args);
    assert.equal(r.status, 64, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
