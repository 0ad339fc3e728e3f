// `npm run bench -- ppo [--pairs 1500] [--steps 32] [--prompts 64] [--lr 5e-5] [--checkpoint-every 8]
//                       [--eval-per-set 40] [--eval-samples 4] [--max-tokens 48] [--threads 2] [--epochs 1] [--minibatches 2]`
//
// The reference scenario at full scale, with REAL trained reward models:
//   1. two RMs (one member, one epoch, from the shipped base policy) on `--pairs` comparisons of
//      simulated-user feedback: `honest` (gold's labels) and `mismatch` (users who prefer
//      padded, flattering, confident answers)
//   2. PPO from the base policy against each, on the scenario's training prompts (every
//      eval-set prompt excluded), a checkpoint every `--checkpoint-every` steps
//   3. every checkpoint and the base policy sampled on the held-out eval sets (same prompts,
//      same seeds) and scored by the RM, by gold utility (which the RM never saw), for
//      length and for refusals of benign-but-risky-sounding prompts.
// stderr: per-step lines, then both curves (reward and gold per checkpoint). stdout: the
// throughput table, then one JSON line with the curves, the paired-bootstrap deltas (last
// checkpoint − base) and the throughput figures: PPO steps/s, rollout / scoring / update
// tokens/s, the time split, peak RSS, ORT threads, cores, and the load average (the
// machine is shared).
//
// `--gold-stand-in`: the earlier throughput run (the 64 steps × 64 prompts target)
// with the scenario's gold utility as the reward — a stand-in, named as such, costing ~0
// to score. `--best-of-n`: the offline baseline on the same stand-in.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readArtifact, type LoadedArtifact } from '../../src/engine/artifact/artifact.js';
import { BatchEngine } from '../../src/engine/runtime/batch-engine.js';
import { bestOfN } from '../../src/rlhf/best-of-n/best-of-n.js';
import { runPpo, type PpoOptions, type PpoStepMetrics } from '../../src/rlhf/ppo/ppo-run.js';
import type { RewardFunction } from '../../src/rlhf/ppo/reward-function.js';
import { scenarioTrainingPrompts } from '../../src/services/trainer/scenario-prompts.js';
import { goldUtility } from '../../src/scenario/gold-utility.js';
import { BASE_POLICY_DIR, heldOutEvalPrompts, runReferenceScenario, trainScenarioRewardModel, type CurvePoint, type FeedbackKind, type ScenarioRun } from '../unit/rlhf/ppo/reference-scenario.js';
import { positiveOption } from './options.js';
import { printResult, printTable } from './table.js';

const goldStandIn: RewardFunction = async (prompts, responses) => ({ scores: responses.map((r, i) => goldUtility(prompts[i]!, r.text)) });

interface Common {
  promptsPerStep: number;
  maxTokens: number;
  threads: number;
  epochs: number;
  miniBatches: number;
}

export async function run(args: string[]): Promise<void> {
  const common: Common = {
    promptsPerStep: positiveOption(args, 'prompts', 64, true),
    maxTokens: positiveOption(args, 'max-tokens', 48, true),
    threads: positiveOption(args, 'threads', 2, true),
    epochs: positiveOption(args, 'epochs', 1, true),
    miniBatches: positiveOption(args, 'minibatches', 2, true),
  };
  const base = await readArtifact(BASE_POLICY_DIR);
  const prompts = scenarioTrainingPrompts();
  if (args.includes('--best-of-n')) return runBestOfN(base, prompts.prompts.slice(0, common.promptsPerStep), common.maxTokens, common.threads);
  if (args.includes('--gold-stand-in')) return runGoldStandIn(base, prompts.prompts, prompts.id, common, positiveOption(args, 'steps', 64, true), args);
  return runScenario(base, prompts.prompts, common, args);
}

/** Throughput figures of a set of PPO steps. */
function throughput(h: readonly PpoStepMetrics[], epochs: number, promptsPerStep: number): Record<string, unknown> {
  const sum = (f: (m: PpoStepMetrics) => number): number => h.reduce((a, m) => a + f(m), 0);
  const rolloutS = sum((m) => m.rollout_ms) / 1000;
  const rewardS = sum((m) => m.reward_ms) / 1000;
  const policyScoringS = sum((m) => m.policy_scoring_ms) / 1000;
  const referenceS = sum((m) => m.reference_ms) / 1000;
  const updateS = sum((m) => m.update_ms) / 1000;
  const stepS = sum((m) => m.step_ms) / 1000;
  const updateTokens = sum((m) => m.update_tokens);
  // scoring runs prompt + response positions; the update runs them epochs × (the same positions)
  const scoredPositions = updateTokens / epochs;
  const stepsPerSecond = h.length / stepS;
  return {
    steps: h.length,
    stepsPerSecond,
    projected64x64Seconds: promptsPerStep === 64 ? 64 / stepsPerSecond : null,
    rolloutTokensPerSecond: sum((m) => m.generated_tokens) / rolloutS,
    scoringTokensPerSecond: (2 * scoredPositions) / (policyScoringS + referenceS),
    updateTokensPerSecond: updateTokens / updateS,
    timeSplitSeconds: { rollout: rolloutS, reward: rewardS, policyScoring: policyScoringS, reference: referenceS, update: updateS, other: stepS - rolloutS - rewardS - policyScoringS - referenceS - updateS },
  };
}

function writeCurve(kind: FeedbackKind, curve: readonly CurvePoint[]): void {
  const f = (x: number | null, d = 3): string => (x === null ? '-' : x.toFixed(d));
  process.stderr.write(`\ncurve: PPO against the RM trained on ${kind} feedback (eval = held-out eval sets)\n`);
  process.stderr.write(`${'step'.padStart(5)} ${'train reward'.padStart(12)} ${'KL k1'.padStart(7)} ${'eval reward'.padStart(11)} ${'gold'.padStart(7)} ${'gold − base [95% CI]'.padStart(24)} ${'length'.padStart(7)} ${'benign refusal'.padStart(14)}\n`);
  for (const p of curve) {
    const d = p.goldVsBase ? `${f(p.goldVsBase.value)} [${f(p.goldVsBase.lower)}, ${f(p.goldVsBase.upper)}]` : '-';
    process.stderr.write(`${String(p.step).padStart(5)} ${f(p.trainReward).padStart(12)} ${f(p.klK1).padStart(7)} ${f(p.reward).padStart(11)} ${f(p.gold).padStart(7)} ${d.padStart(24)} ${f(p.length, 1).padStart(7)} ${f(p.benignRefusal).padStart(14)}\n`);
  }
}

async function runScenario(base: LoadedArtifact, trainingPrompts: string[], c: Common, args: string[]): Promise<void> {
  const pairs = positiveOption(args, 'pairs', 1500, true);
  const steps = positiveOption(args, 'steps', 32, true);
  const lr = positiveOption(args, 'lr', 5e-5);
  const every = positiveOption(args, 'checkpoint-every', 8, true);
  const evalPerSet = positiveOption(args, 'eval-per-set', 40, true);
  const evalSamples = positiveOption(args, 'eval-samples', 4, true);
  const evalPrompts = heldOutEvalPrompts(evalPerSet);
  const load0 = loadavg();
  const started = performance.now();
  const out = await mkdtemp(join(tmpdir(), 'ppo-bench-'));
  let peakRss = process.memoryUsage().rss;
  const options: PpoOptions = { steps, promptsPerStep: c.promptsPerStep, maxTokens: c.maxTokens, seed: 1, epochs: c.epochs, miniBatches: c.miniBatches, lr, truncationPenalty: 1, intraOpThreads: c.threads, checkpointEvery: every };
  const runs: ScenarioRun[] = [];
  try {
    for (const kind of ['honest', 'mismatch'] as const) {
      let lastLine = 0;
      const rm = await trainScenarioRewardModel(kind, {
        pairs, seed: 3, outDir: out, threads: c.threads,
        onProgress: (step, total) => {
          if (Date.now() - lastLine < 15_000 && step !== total) return;
          lastLine = Date.now();
          process.stderr.write(`rm ${kind}: step ${step}/${total} load ${loadavg()[0]!.toFixed(1)}\n`);
        },
      });
      process.stderr.write(`rm ${kind}: ${rm.trainPairs} pairs in ${rm.seconds.toFixed(0)} s, held-out accuracy ${rm.heldOutAccuracy?.toFixed(3)}, score–length ρ ${rm.scoreLengthSpearman?.toFixed(2)}\n`);
      runs.push(await runReferenceScenario(base, rm, {
        trainingPrompts, evalPrompts, ppo: options, outDir: out, eval: { samplesPerPrompt: evalSamples, seed: 5 },
        onStep: (m) => {
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
          process.stderr.write(`ppo ${kind}: step ${m.step}/${steps} reward ${m.reward_mean.toFixed(3)} kl ${m.kl_k1.toFixed(3)} β ${m.beta.toFixed(4)} len ${m.response_length_mean.toFixed(1)} ${(m.step_ms / 1000).toFixed(1)} s\n`);
        },
      }));
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
  for (const r of runs) writeCurve(r.rm.kind, r.curve);
  const history = runs.flatMap((r) => r.ppo.history);
  printTable('PPO steps (both runs)', [{ steps: history.length, ...Object.fromEntries(Object.entries(throughput(history, c.epochs, c.promptsPerStep)).filter(([, v]) => typeof v === 'number')) as Record<string, number> }]);
  const ci = (d: { value: number; lower: number; upper: number }) => ({ value: d.value, lower: d.lower, upper: d.upper });
  const byKind = Object.fromEntries(runs.map((r) => [r.rm.kind, r])) as Record<FeedbackKind, ScenarioRun>;
  const h = byKind.honest.delta;
  const m = byKind.mismatch.delta;
  printResult('ppo', {
    config: base.config,
    reward: 'trained reward models (honest and mismatch feedback), one member, one epoch, from the base policy',
    pairs,
    steps,
    promptsPerStep: c.promptsPerStep,
    maxTokens: c.maxTokens,
    lr,
    epochs: c.epochs,
    miniBatches: c.miniBatches,
    checkpointEvery: every,
    eval: { prompts: evalPrompts.length, perSet: evalPerSet, samplesPerPrompt: evalSamples, units: evalPrompts.length * evalSamples },
    rewardModels: Object.fromEntries(runs.map((r) => [r.rm.kind, { trainPairs: r.rm.trainPairs, heldOutAccuracy: r.rm.heldOutAccuracy, scoreLengthSpearman: r.rm.scoreLengthSpearman, trainSeconds: r.rm.seconds }])),
    curves: Object.fromEntries(runs.map((r) => [r.rm.kind, r.curve])),
    stops: Object.fromEntries(runs.map((r) => [r.rm.kind, r.ppo.stop])),
    deltas: Object.fromEntries(runs.map((r) => [r.rm.kind, { gold: ci(r.delta.gold), reward: ci(r.delta.reward), length: ci(r.delta.length), benignRefusal: ci(r.delta.benignRefusal) }])),
    // the acceptance, as read off the deltas (95 % paired-bootstrap CIs, last checkpoint − base)
    acceptance: {
      honestGoldUpCiAboveZero: h.gold.lower > 0,
      honestBenignRefusalDown: h.benignRefusal.value < 0,
      mismatchRewardUp: m.reward.lower > 0,
      mismatchLengthUp: m.length.lower > 0,
      mismatchGoldDown: m.gold.upper < 0,
    },
    throughput: throughput(history, c.epochs, c.promptsPerStep),
    evalSeconds: runs.reduce((a, r) => a + r.evalSeconds, 0),
    wallSeconds: (performance.now() - started) / 1000,
    peakRssMiB: Math.round(peakRss / 2 ** 20),
    ortThreads: c.threads,
    loadAverage: { start: load0, end: loadavg() },
  });
}

/** `--gold-stand-in`: throughput at the reference config with gold utility as the reward (not an RM). */
async function runGoldStandIn(base: LoadedArtifact, prompts: string[], promptSetId: string, c: Common, steps: number, args: string[]): Promise<void> {
  const critic = args.includes('--critic') ? args[args.indexOf('--critic') + 1] : 'shared';
  if (critic !== 'shared' && critic !== 'separate') throw new Error(`--critic needs shared or separate, got ${JSON.stringify(critic)}`);
  const load0 = loadavg();
  const outDir = await mkdtemp(join(tmpdir(), 'ppo-bench-'));
  let peakRss = process.memoryUsage().rss;
  const started = performance.now();
  try {
    const result = await runPpo({
      config: base.config, tokenizer: base.tokenizer, policy: base.params, reference: base.params, reward: goldStandIn, prompts, promptSetId, parentArtifactId: base.manifest.artifactId, outDir,
      options: { critic, steps, promptsPerStep: c.promptsPerStep, maxTokens: c.maxTokens, seed: 1, epochs: c.epochs, miniBatches: c.miniBatches, lr: 1e-5, truncationPenalty: 1, intraOpThreads: c.threads, checkpointEvery: 0 },
      onStep: (m) => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        process.stderr.write(`step ${m.step}/${steps} reward ${m.reward_mean.toFixed(3)} kl ${m.kl_k1.toFixed(3)} β ${m.beta.toFixed(4)} ${(m.step_ms / 1000).toFixed(1)} s\n`);
      },
    });
    const h = result.history;
    printTable('PPO steps', h.map((m) => ({ step: m.step, reward: m.reward_mean, kl_k1: m.kl_k1, kl_k3: m.kl_k3, beta: m.beta, entropy: m.entropy, clip: m.clip_fraction, len: m.response_length_mean, eos: m.eos_rate, s: m.step_ms / 1000 })));
    printResult('ppo-gold-stand-in', {
      config: base.config,
      reward: 'GOLD STAND-IN: the scenario gold utility as the reward (no reward model; reward time ~0)',
      critic,
      promptsPerStep: c.promptsPerStep,
      maxTokens: c.maxTokens,
      epochs: c.epochs,
      miniBatches: c.miniBatches,
      stop: result.stop,
      wallSeconds: (performance.now() - started) / 1000,
      ...throughput(h, c.epochs, c.promptsPerStep),
      rewardFirst: h[0]?.reward_mean,
      rewardLast: h.at(-1)?.reward_mean,
      klK1Last: h.at(-1)?.kl_k1,
      peakRssMiB: Math.round(peakRss / 2 ** 20),
      ortThreads: c.threads,
      loadAverage: { start: load0, end: loadavg() },
    });
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

/** `--best-of-n`: the offline baseline on the gold stand-in — mean reward of the best of n against the KL bound. */
async function runBestOfN(base: LoadedArtifact, prompts: string[], maxTokens: number, threads: number): Promise<void> {
  const engine = await BatchEngine.fromParameters(base.params, base.tokenizer, { maxBatch: 64, intraOpThreads: threads });
  const rows: Array<Record<string, number>> = [];
  try {
    for (const n of [1, 2, 4, 8, 16]) {
      const r = await bestOfN(engine, goldStandIn, prompts, { n, maxTokens, seed: 1, truncationPenalty: 1 });
      rows.push({ n, klBound: r.klBound, sampleMean: r.sampleMeanScore, bestMean: r.bestMeanScore, samplesPerSecond: r.samples / (r.sampleMs / 1000) });
    }
  } finally {
    await engine.close();
  }
  printTable('best-of-n (reward: GOLD STAND-IN, the scenario gold utility)', rows);
  printResult('ppo-best-of-n', { config: base.config, reward: 'GOLD STAND-IN', prompts: prompts.length, maxTokens, ortThreads: threads, rows, loadAverage: loadavg() });
}
