// The Python tools of tests/infra/python.sh (schemathesis, the official `openai`
// client, openapi-spec-validator), installed on first use. Under CI=true a tool that
// cannot be installed fails the test; elsewhere the test is skipped with the reason.
import { spawnSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { repoRoot } from '../support/process.js';

let cached: { bin: string } | { error: string } | null = null;

function install(): { bin: string } | { error: string } {
  // pip may take a few minutes the first time; afterwards this is a stamp check
  const r = spawnSync('bash', [join(repoRoot, 'tests/infra/python.sh')], { encoding: 'utf8', timeout: 15 * 60_000 });
  if (r.status !== 0) return { error: `tests/infra/python.sh failed (${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').slice(-2000)}` };
  const bin = r.stdout.trim().split('\n').pop()!;
  return { bin };
}

/** The venv's bin directory, or null after skipping `t` (outside CI) — under CI=true a missing tool throws. */
export function pythonBin(t: TestContext): string | null {
  cached ??= install();
  if ('bin' in cached) return cached.bin;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`the Python test tools are required under CI: ${cached.error}`);
  t.skip(`Python test tools unavailable: ${cached.error}`);
  return null;
}

export interface ToolRun {
  code: number | null;
  output: string;
}

/** Run a tool of the venv to completion, collecting stdout and stderr together (async: the gateway under test shares this process's event loop). */
export function runTool(bin: string, tool: string, args: string[], o: { env?: Record<string, string>; cwd?: string } = {}): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(bin, tool), args, { cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
