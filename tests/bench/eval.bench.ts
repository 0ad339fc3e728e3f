// `npm run bench -- eval [--artifact DIR] [--seeds 2] [--max-tokens 64] [--resamples 1000] [--sigma 0.01] [--threads 2]`
// Evaluating one checkpoint on every suite at the reference config: the shipped base
// policy is the incumbent and the KL reference, the checkpoint is a copy of it with
// seeded Gaussian noise on every weight (σ, a stand-in for a PPO step's drift). Both
// sides answer every prompt of the scenario's three suites once per seed (BatchEngine),
// both are scored for log-probs (and the checkpoint against the reference) and by a
// reward scorer, then the paired bootstrap, the length-controlled gain and both gates
// run. Reports seconds split into sampling / scoring / statistics, samples per second,
// the longest stall of the event loop during the evaluation (in embedded mode the
// evaluator shares its process, and so its event loop, with the gateway: a stall is
// added to every chat request in flight) and the load average (the machine is shared).
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { readArtifact } from '../../src/engine/artifact/artifact.js';
import { ParameterSet } from '../../src/engine/gpt/config.js';
import { Rng } from '../../src/engine/rng.js';
import { NAIVE_GATE_POLICY, REFERENCE_GATE_POLICY, parseGatePolicy } from '../../src/evaluation/index.js';
import type { RewardScorer } from '../../src/evaluation/sampling/index.js';
import { scenarioSuites } from '../../src/scenario/eval-suites.js';
import { evaluateCandidate } from '../../src/services/evaluator/candidate-evaluation.js';
import { evaluatorMetricCatalog } from '../../src/services/evaluator/evaluator.service.js';
import { positiveOption } from './options.js';
import { printResult, printTable } from './table.js';

// A cheap reward scorer (words / 10), so the figure measures the evaluator, not an RM.
const WORD_COUNT_RM: RewardScorer = { id: 'word-count', score: async (rows) => ({ rewards: rows.map((r) => r.response.split(/\s+/).filter(Boolean).length / 10) }) };

export async function run(args: string[]): Promise<void> {
  const i = args.indexOf('--artifact');
  const artifactDir = i >= 0 ? args[i + 1]! : 'models/base-policy';
  const seedCount = positiveOption(args, 'seeds', 2, true);
  const maxTokens = positiveOption(args, 'max-tokens', 64, true);
  const resamples = positiveOption(args, 'resamples', 1000, true);
  const sigma = positiveOption(args, 'sigma', 0.01);
  const threads = positiveOption(args, 'threads', 2, true);

  const base = await readArtifact(artifactDir);
  const rng = new Rng(11);
  const checkpoint = new ParameterSet(base.config, Float32Array.from(base.params.data, (x) => x + sigma * rng.normal()));
  const suites = scenarioSuites();
  const catalog = evaluatorMetricCatalog(suites);
  const policies = [parseGatePolicy(REFERENCE_GATE_POLICY, catalog), parseGatePolicy(NAIVE_GATE_POLICY, catalog)];
  const sampling = { seeds: Array.from({ length: seedCount }, (_, k) => k + 1), maxTokens, temperature: 1 };
  const loadBefore = loadavg()[0]!;
  const eventLoop = monitorEventLoopDelay({ resolution: 10 });
  eventLoop.enable();
  const t0 = performance.now();
  const e = await evaluateCandidate({
    candidate: { id: 'checkpoint', params: checkpoint, tokenizer: base.tokenizer },
    incumbent: { id: 'base', params: base.params, tokenizer: base.tokenizer },
    suites, policies, rewardScorer: WORD_COUNT_RM,
    options: { sampling, bootstrap: { seed: 1, resamples }, intraOpThreads: threads, maxBatch: 64 },
  });
  const total = (performance.now() - t0) / 1000;
  eventLoop.disable();
  const loadAfter = loadavg()[0]!;
  const prompts = suites.reduce((n, s) => n + s.promptSet.prompts.length, 0);
  const generatedTokens = [...e.sides.candidate.values(), ...e.sides.incumbent.values()].flatMap((s) => s.samples).reduce((n, s) => n + (s.tokens ?? 0), 0);

  printTable(`one checkpoint vs the incumbent on ${suites.length} suites (${prompts} prompts × ${seedCount} seeds × 2 sides, ≤ ${maxTokens} tokens, ${resamples} resamples)`, [
    { phase: 'sampling', seconds: e.timings.samplingSeconds },
    { phase: 'scoring (log-probs, reward)', seconds: e.timings.scoringSeconds },
    { phase: 'statistics (bootstrap, gates)', seconds: e.timings.statisticsSeconds },
    { phase: 'total', seconds: total },
  ]);
  process.stdout.write(`longest event-loop stall: ${(eventLoop.max / 1e6).toFixed(0)} ms (p99 ${(eventLoop.percentile(99) / 1e6).toFixed(0)} ms)\n`);
  process.stdout.write(`verdicts: ${e.decisions.map((d) => `${d.policy} ${d.verdict}`).join(', ')}\n`);
  printResult('eval', {
    secondsPerCheckpoint: { value: total, unit: 's' },
    samplingSeconds: { value: e.timings.samplingSeconds, unit: 's' },
    scoringSeconds: { value: e.timings.scoringSeconds, unit: 's' },
    statisticsSeconds: { value: e.timings.statisticsSeconds, unit: 's' },
    eventLoopStallMs: { value: eventLoop.max / 1e6, unit: 'ms', p99: eventLoop.percentile(99) / 1e6, note: 'longest delay of a 10 ms timer during the evaluation: what a chat request on the same process waits at worst' },
    samplesPerSecond: { value: e.samples / total, unit: 'responses/s', samples: e.samples },
    generatedTokensPerSamplingSecond: { value: generatedTokens / e.timings.samplingSeconds, unit: 'tokens/s', tokens: generatedTokens },
    loadAverage1m: { before: loadBefore, after: loadAfter },
    conditions: { artifact: artifactDir, artifactId: base.manifest.artifactId, model: base.config, suites: suites.map((s) => s.name), prompts, seeds: sampling.seeds, maxTokens, temperature: 1, resamples, sigma, intraOpThreads: threads, maxBatch: 64, rewardScorer: WORD_COUNT_RM.id },
  });
}
