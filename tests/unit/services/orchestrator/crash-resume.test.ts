// Crash-resume (issue #12 item 3): the orchestrator and its trainer/evaluator worker
// run in a child process that SIGKILLs itself at every state in turn (right after the
// state's transition committed) and inside each job's handler (the trainer dies
// mid-job); a fresh process then resumes. Each run must end exactly like an
// uninterrupted one: same states, same step inputs and outputs, one job per step.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LOOP_STEPS } from '../../../../src/domain/loop.js';
import { seedWorld, type WorldConfig } from './loop-world.js';

const CHILD = fileURLToPath(new URL('./loop-child.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'outerloop-crash-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface ChildRun {
  signal: NodeJS.Signals | null;
  code: number | null;
  states: string[];
  done: { result: unknown; jobs: Array<{ key: string; attempts: number; state: string }> } | null;
  stderr: string;
}

function runChild(config: WorldConfig & { trigger: boolean }): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD], { env: { ...process.env, OUTERLOOP_TEST_LOOP_CHILD: JSON.stringify(config), OUTERLOOP_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const lines = out.split('\n');
      const doneLine = lines.find((l) => l.startsWith('DONE '));
      resolve({
        code,
        signal,
        stderr,
        states: lines.filter((l) => l.startsWith('STATE ')).map((l) => l.slice(6)),
        done: doneLine ? (JSON.parse(doneLine.slice(5)) as ChildRun['done']) : null,
      });
    });
  });
}

const base: WorldConfig = { dir: '', rmAccuracy: 0.7, verdict: 'pass', canaryUp: 0.8, productionUp: 0.4, seed: 3 };

async function scenario(name: string, kill: Pick<WorldConfig, 'killAt' | 'killInJob'>): Promise<{ first: ChildRun; last: ChildRun }> {
  const dir = join(root, name);
  await seedWorld(dir);
  const first = await runChild({ ...base, ...kill, dir, trigger: true });
  if (!kill.killAt && !kill.killInJob) return { first, last: first };
  assert.equal(first.signal, 'SIGKILL', `the first process died by SIGKILL (code ${first.code}; ${first.stderr.slice(-500)})`);
  const last = await runChild({ ...base, dir, trigger: false });
  assert.equal(last.code, 0, last.stderr.slice(-2000));
  return { first, last };
}

describe('crash-resume: SIGKILL at every state', () => {
  let reference: NonNullable<ChildRun['done']>;

  it('an uninterrupted iteration (the reference) is promoted', async () => {
    const { last } = await scenario('reference', {});
    assert.equal(last.code, 0, last.stderr.slice(-2000));
    reference = last.done!;
    assert.equal((reference.result as { state: string }).state, 'promoted');
  });

  for (const state of LOOP_STEPS) {
    it(`killed right after entering ${state}: resumes to the same result, no step run twice`, async () => {
      const { first, last } = await scenario(`at-${state}`, { killAt: state });
      assert.equal(first.states.at(-1), state, 'the kill landed in that state');
      assert.deepEqual(last.done?.result, reference.result);
      assert.deepEqual(last.done?.jobs.map((j) => j.key).sort(), ['evaluate', 'rl', 'train_rm', 'train_rm:judge']);
      for (const j of last.done!.jobs) assert.equal(j.attempts, 1, `${j.key}: the job ran once`);
    });
  }

  for (const step of ['train_rm', 'rl', 'evaluate'] as const) {
    it(`the trainer killed inside the ${step} job: the job is taken over as attempt 2, same result`, async () => {
      const { last } = await scenario(`in-${step}`, { killInJob: step });
      assert.deepEqual(last.done?.result, reference.result);
      const job = last.done!.jobs.find((j) => j.key === step)!;
      assert.deepEqual([job.state, job.attempts], ['succeeded', 2]);
      assert.equal(last.done!.jobs.length, 4, 'one job per step (two in train_rm: the proxy and the judge RM)');
    });
  }
});
