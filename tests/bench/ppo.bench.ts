// `npm run bench -- ppo [--steps N] [--prompts P] [--max-tokens M] [--threads K] [--epochs E] [--minibatches B] [--critic shared|separate]`
//
// PPO at the reference config: the shipped base policy (models/base-policy, the reference
// GPT) as the starting policy and the frozen reference, the scenario's training prompts
// (closed prompts minus every eval-set prompt, frozen with freezePromptSet), and — until the
// reward model's scorer is on main — the scenario's gold utility as the reward (a stand-in:
// it costs ~nothing, so the "reward" share of the time split is a lower bound for an RM).
// Target (issue 13): 64 steps × 64 prompts in ≤ 6 minutes on 2 cores. Prints per-step rows,
// then one JSON line: steps/s, rollout / scoring / update tokens/s, the time split, peak
// RSS, ORT threads, cores and the load average (the machine is shared).
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { readArtifact, type LoadedArtifact } from '../../src/engine/artifact/artifact.js';
import { BatchEngine } from '../../src/engine/runtime/batch-engine.js';
import { bestOfN } from '../../src/rlhf/best-of-n/best-of-n.js';
import { runPpo, type PpoStepMetrics } from '../../src/rlhf/ppo/ppo-run.js';
import type { RewardFunction } from '../../src/rlhf/ppo/reward-function.js';
import { freezePromptSet } from '../../src/rlhf/prompts/prompt-set.js';
import { isHeldOutPrompt } from '../../src/scenario/eval-sets.js';
import { goldUtility } from '../../src/scenario/gold-utility.js';
import { enumerateClosedPrompts, findPrompt } from '../../src/scenario/prompts.js';
import { positiveOption } from './options.js';
import { printResult, printTable } from './table.js';

const BASE_POLICY = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'models', 'base-policy');

const goldReward: RewardFunction = async (prompts, responses) => ({ scores: responses.map((r, i) => goldUtility(prompts[i]!, r.text)) });

export async function run(args: string[]): Promise<void> {
  const steps = positiveOption(args, 'steps', 64, true);
  const promptsPerStep = positiveOption(args, 'prompts', 64, true);
  const maxTokens = positiveOption(args, 'max-tokens', 48, true);
  const threads = positiveOption(args, 'threads', 2, true);
  const epochs = positiveOption(args, 'epochs', 1, true);
  const miniBatches = positiveOption(args, 'minibatches', 2, true);
  const critic = args.includes('--critic') ? args[args.indexOf('--critic') + 1] : 'shared';
  if (critic !== 'shared' && critic !== 'separate') throw new Error(`--critic needs shared or separate, got ${JSON.stringify(critic)}`);
  const load0 = loadavg();

  const base = await readArtifact(BASE_POLICY);
  const promptSet = freezePromptSet(enumerateClosedPrompts().map((p) => p.text), (t) => {
    const spec = findPrompt(t);
    return spec !== null && isHeldOutPrompt(spec);
  });
  if (args.includes('--best-of-n')) return runBestOfN(base, promptSet.prompts.slice(0, promptsPerStep), maxTokens, threads);
  const outDir = await mkdtemp(join(tmpdir(), 'ppo-bench-'));
  let peakRss = process.memoryUsage().rss;
  const started = performance.now();
  try {
    const result = await runPpo({
      config: base.config,
      tokenizer: base.tokenizer,
      policy: base.params,
      reference: base.params,
      reward: goldReward,
      prompts: promptSet.prompts,
      promptSetId: promptSet.id,
      parentArtifactId: base.manifest.artifactId,
      outDir,
      options: { critic, steps, promptsPerStep, maxTokens, seed: 1, epochs, miniBatches, lr: 1e-5, truncationPenalty: 1, intraOpThreads: threads, checkpointEvery: 0 },
      onStep: (m) => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        process.stderr.write(`step ${m.step}/${steps} reward ${m.reward_mean.toFixed(3)} kl ${m.kl_k1.toFixed(3)} β ${m.beta.toFixed(4)} ${(m.step_ms / 1000).toFixed(1)} s\n`);
      },
    });
    const wallS = (performance.now() - started) / 1000;
    const h = result.history;
    const sum = (f: (m: PpoStepMetrics) => number): number => h.reduce((a, m) => a + f(m), 0);
    const rolloutS = sum((m) => m.rollout_ms) / 1000;
    const rewardS = sum((m) => m.reward_ms) / 1000;
    const policyScoringS = sum((m) => m.policy_scoring_ms) / 1000;
    const referenceS = sum((m) => m.reference_ms) / 1000;
    const updateS = sum((m) => m.update_ms) / 1000;
    const stepS = sum((m) => m.step_ms) / 1000;
    const generated = sum((m) => m.generated_tokens);
    const updateTokens = sum((m) => m.update_tokens);
    // scoring runs prompt + response positions; the update runs them epochs × (the same positions)
    const scoredPositions = updateTokens / epochs;
    printTable('PPO steps', h.map((m) => ({ step: m.step, reward: m.reward_mean, kl_k1: m.kl_k1, kl_k3: m.kl_k3, beta: m.beta, entropy: m.entropy, clip: m.clip_fraction, len: m.response_length_mean, eos: m.eos_rate, s: m.step_ms / 1000 })));
    const stepsPerSecond = h.length / stepS;
    const figures = {
      config: base.config,
      reward: 'scenario gold utility (stand-in until the RM scorer is on main)',
      critic,
      steps: h.length,
      promptsPerStep,
      maxTokens,
      epochs,
      miniBatches,
      stop: result.stop,
      wallSeconds: wallS,
      stepsPerSecond,
      projected64x64Seconds: promptsPerStep === 64 ? 64 / stepsPerSecond : null,
      rolloutTokensPerSecond: generated / rolloutS,
      scoringTokensPerSecond: (2 * scoredPositions) / (policyScoringS + referenceS),
      updateTokensPerSecond: updateTokens / updateS,
      timeSplitSeconds: { rollout: rolloutS, reward: rewardS, policyScoring: policyScoringS, reference: referenceS, update: updateS, other: stepS - rolloutS - rewardS - policyScoringS - referenceS - updateS },
      // a separate critic (OpenRLHF) would add its own scoring pass and its own update of the same size
      separateCriticExtraSecondsPerStep: (policyScoringS + updateS) / h.length,
      rewardFirst: h[0]?.reward_mean,
      rewardLast: h.at(-1)?.reward_mean,
      klK1Last: h.at(-1)?.kl_k1,
      peakRssMiB: Math.round(peakRss / 2 ** 20),
      ortThreads: threads,
      loadAverage: { start: load0, end: loadavg() },
    };
    printResult('ppo', figures);
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

/** `--best-of-n`: the offline baseline on the same reward and prompts — mean reward of the best of n against the KL bound. */
async function runBestOfN(base: LoadedArtifact, prompts: string[], maxTokens: number, threads: number): Promise<void> {
  const engine = await BatchEngine.fromParameters(base.params, base.tokenizer, { maxBatch: 64, intraOpThreads: threads });
  const rows: Array<Record<string, number>> = [];
  try {
    for (const n of [1, 2, 4, 8, 16]) {
      const r = await bestOfN(engine, goldReward, prompts, { n, maxTokens, seed: 1, truncationPenalty: 1 });
      rows.push({ n, klBound: r.klBound, sampleMean: r.sampleMeanScore, bestMean: r.bestMeanScore, samplesPerSecond: r.samples / (r.sampleMs / 1000) });
    }
  } finally {
    await engine.close();
  }
  printTable('best-of-n (reward: scenario gold utility)', rows);
  printResult('ppo-best-of-n', { config: base.config, prompts: prompts.length, maxTokens, ortThreads: threads, rows, loadAverage: loadavg() });
}
