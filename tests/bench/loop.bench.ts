// `npm run bench -- loop [--warmup 150] [--users 16] [--rate 8] [--ppo-steps 20] [--bias honest]`:
// one unattended iteration of the outer loop in embedded mode (every role in one
// process) at the reference configuration — the trainer's, the evaluator's and the
// orchestrator's defaults (PPO OUTERLOOP_LOOP_PPO_STEPS = 20 steps × 64 prompts, the
// default eval suites and gate, a 2-member proxy RM) — fed by the scenario's simulated
// users through the gateway, with the time spent in each state. Departures from the
// defaults: half of the snapshot is held out (at 0.1 the judge RM's 50 pairs need ~720
// pairs, about 4,000 turns of warm-up), the canary takes half the traffic and looks
// every 5 s (at 10% and every 30 s an iteration waits on live users for hours at this
// traffic), and no cron. Progress goes to stderr; the last stdout line is the JSON result.
import { loadavg, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runLoopIteration } from '../e2e/loop/loop-harness.js';
import { positiveOption } from './options.js';
import { printResult, printTable } from './table.js';

function stringOption(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = args[i + 1];
  if (!v || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}

export async function run(args: string[]): Promise<void> {
  const warmupS = positiveOption(args, 'warmup', 150);
  const users = positiveOption(args, 'users', 16, true);
  const rate = positiveOption(args, 'rate', 8);
  const ppoSteps = positiveOption(args, 'ppo-steps', 20, true);
  const bias = stringOption(args, 'bias', 'honest');
  const dataDir = mkdtempSync(join(tmpdir(), 'outerloop-loop-bench-'));
  const env = {
    OUTERLOOP_DATA_DIR: dataDir,
    OUTERLOOP_LOOP_CRON: 'off',
    OUTERLOOP_LOOP_PPO_STEPS: String(ppoSteps),
    OUTERLOOP_LOOP_HELDOUT_FRACTION: '0.5',
    OUTERLOOP_CANARY_WEIGHT: '0.5',
    OUTERLOOP_CANARY_POLL_MS: '5000',
    OUTERLOOP_GATEWAY_AUTH: 'open',
  };
  const loadBefore = loadavg();
  const log = (line: string) => process.stderr.write(`[loop bench] ${line}\n`);
  try {
    const r = await runLoopIteration({
      processes: [{ env }],
      bias,
      seed: 11,
      warmup: { users, rate, durationS: warmupS },
      during: { users, rate },
      compare: 'versions',
      maxTokens: 48,
      iterationTimeoutMs: 60 * 60_000,
      gold: { seeds: [1, 2, 3], maxTokens: 48 },
      log,
    });
    const loadAfter = loadavg();
    const it = r.iteration;
    const states = Object.entries(r.secondsInState);
    const iterationSeconds = states.reduce((s, [, v]) => s + v, 0);
    printTable(`loop: one iteration (${it.state})`, states.map(([state, seconds]) => ({ state, seconds, share: seconds / iterationSeconds })));
    printTable('conditions', [{
      'warm-up turns': r.warmup.completedTurns, 'turns during': r.during.completedTurns, 'PPO steps': ppoSteps, bias,
      'load 1m before': loadBefore[0]!, 'load 1m after': loadAfter[0]!, 'load 15m after': loadAfter[2]!,
    }]);
    const gold = Object.fromEntries(Object.entries(r.goldUtility).map(([v, g]) => [v, { value: g, unit: 'gold utility', note: 'mean on the held-out extrinsic prompts, 3 seeds' }]));
    printResult('loop', {
      outcome: it.state,
      error: it.error,
      iterationSeconds: { value: iterationSeconds, unit: 's', note: 'trigger to rest (sum of the states)' },
      secondsInState: Object.fromEntries(states.map(([s, v]) => [s, { value: v, unit: 's' }])),
      wallSeconds: { value: r.wallSeconds, unit: 's', note: 'start of the process, warm-up load and the iteration' },
      gate: { ...(it.steps.gate?.outputs ?? {}), unmetRules: r.gateUnmet },
      canary: it.steps.canary?.outputs ?? null,
      rmGate: it.steps.rm_gate?.outputs ?? null,
      production: { before: r.productionBefore, after: r.productionAfter },
      heldOutGoldUtility: gold,
      traffic: { warmupTurns: r.warmup.completedTurns, duringTurns: r.during.completedTurns, feedback: r.warmup.feedbackByType },
      conditions: {
        mode: 'embedded', bias, users, rate, warmupSeconds: warmupS, ppoSteps, ppoPromptsPerStep: 64, rmEnsemble: 2, heldoutFraction: 0.5, canaryWeight: 0.5, canaryPollMs: 5000,
        loadAverageBefore: loadBefore, loadAverageAfter: loadAfter,
      },
    });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
