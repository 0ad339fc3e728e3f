// `npm run bench -- rm [--pairs 4000] [--epochs 1] [--ensemble 1] [--threads 2]`: reward-model
// training and scoring on the shipped base policy. A reference snapshot of `--pairs`
// training pairs of honest simulated-user feedback (the scenario's pure feedback model
// over corpus-style responses) is trained into an RM on a TrainThread, as the trainer
// role does; then the written artifact scores held-out pairs at batch 1 and batch 64.
// Figures: time to train, training pairs/s and (real, unpadded) tokens/s, scoring pairs/s
// (a pair = its two responses), accuracy against gold, peak RSS, and the machine's load
// average (the 2-core machine is shared: absolute times drift with it).
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readArtifact } from '../../src/engine/artifact/artifact.js';
import { RewardScorer } from '../../src/engine/runtime/reward-scorer.js';
import { encodePrompt, encodeResponse } from '../../src/rlhf/reward/rm-data.js';
import { startRewardTraining } from '../../src/rlhf/reward/train-rm.program.js';
import { BASE_POLICY_DIR, scenarioPreferenceRows } from '../unit/rlhf/reward/support.js';
import { positiveOption } from './options.js';
import { printResult, printTable } from './table.js';

export async function run(args: string[]): Promise<void> {
  const targetPairs = positiveOption(args, 'pairs', 4000, true);
  const epochs = positiveOption(args, 'epochs', 1, true);
  const ensemble = positiveOption(args, 'ensemble', 1, true);
  const threads = positiveOption(args, 'threads', 2, true);
  // ~5% of comparisons are ties (dropped) and ~10% of prompts held out: draw enough
  const data = scenarioPreferenceRows({ seed: 21, count: Math.ceil(targetPairs * 1.2), bias: '' });
  const train = data.train.slice(0, targetPairs);
  const out = await mkdtemp(join(tmpdir(), 'rm-bench-'));
  const loadBefore = loadavg();
  const t0 = performance.now();
  let lastLine = 0;
  const summary = await startRewardTraining(
    {
      snapshotId: 'rm-bench', train, heldout: data.heldout, policyDir: BASE_POLICY_DIR, outDir: join(out, 'rm'), checkpointDir: join(out, 'ckpt'),
      config: { seed: 1, epochs, ensemble, checkpointEvery: 50 }, minPairs: 1, trainingRunId: null, heldoutGold: data.heldoutGold, intraOpThreads: threads,
    },
    {
      onProgress: (p) => {
        if (Date.now() - lastLine < 15_000 && p.step !== p.totalSteps) return;
        lastLine = Date.now();
        process.stderr.write(`rm bench: step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} ${Math.round(p.tokensPerSecond)} tok/s ETA ${Math.round(p.etaSeconds)}s load ${loadavg()[0]!.toFixed(1)}\n`);
      },
    },
  ).done;
  const totalSeconds = (performance.now() - t0) / 1000;
  const loadDuring = loadavg();

  // scoring: the artifact's graph, held-out pairs, batch 1 and 64
  const { tokenizer } = await readArtifact(BASE_POLICY_DIR);
  const inputs = data.heldout.slice(0, 256).flatMap((r) => {
    const prompt = encodePrompt(tokenizer, r.prompt);
    return [{ prompt, response: encodeResponse(tokenizer, r.chosen) }, { prompt, response: encodeResponse(tokenizer, r.rejected) }];
  });
  const scoring: Record<string, number> = {};
  for (const batch of [1, 16, 64]) {
    const scorer = await RewardScorer.load(join(out, 'rm'), { intraOpThreads: threads, maxBatch: batch });
    await scorer.score(inputs.slice(0, Math.min(inputs.length, 2 * batch))); // warm-up
    const s0 = performance.now();
    await scorer.score(inputs);
    scoring[`batch${batch}`] = inputs.length / 2 / ((performance.now() - s0) / 1000);
    await scorer.release();
  }
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  await rm(out, { recursive: true, force: true });

  const report = summary.report!;
  printTable('reward model: training', [{
    pairs: summary.throughput.trainedPairs, epochs, members: ensemble, 'train s': summary.throughput.trainSeconds, 'total s': totalSeconds,
    'pairs/s': summary.throughput.pairsPerSecond, 'tokens/s': summary.throughput.tokensPerSecond,
    'held-out acc': report.accuracy.value, 'gold acc': report.goldAccuracy?.value ?? Number.NaN, 'hard-pair acc': summary.hardPairs?.accuracy.value ?? Number.NaN,
  }]);
  printTable('reward model: scoring (held-out pairs, the artifact’s graph)', [
    { batch: 1, 'pairs/s': scoring.batch1! },
    { batch: 16, 'pairs/s': scoring.batch16! },
    { batch: 64, 'pairs/s': scoring.batch64! },
  ]);
  printTable('conditions', [{ 'load 1m before': loadBefore[0]!, 'load 1m after': loadDuring[0]!, 'load 15m after': loadDuring[2]!, 'peak RSS MiB': peakRssMiB, threads }]);
  printResult('rm', {
    train: {
      pairs: { value: summary.throughput.trainedPairs, unit: 'pairs' },
      epochs, members: ensemble, steps: summary.members.reduce((s, m) => s + m.steps, 0),
      seconds: { value: summary.throughput.trainSeconds, unit: 's', note: 'the training loop only' },
      timeToTrainRm: { value: totalSeconds, unit: 's', note: 'start to artifact written and evaluated, on a TrainThread' },
      pairsPerSecond: { value: summary.throughput.pairsPerSecond, unit: 'pairs/s' },
      tokensPerSecond: { value: summary.throughput.tokensPerSecond, unit: 'tokens/s', note: 'real tokens, chosen + rejected, no padding' },
      truncation: summary.truncation.train,
    },
    scoring: { batch1: { value: scoring.batch1, unit: 'pairs/s' }, batch16: { value: scoring.batch16, unit: 'pairs/s', note: 'the RewardScorer default' }, batch64: { value: scoring.batch64, unit: 'pairs/s' }, pairs: inputs.length / 2 },
    evaluation: { heldOutPairs: report.pairs, heldOutAccuracy: report.accuracy.value, goldAccuracy: report.goldAccuracy?.value ?? null, hardPairAccuracy: summary.hardPairs?.accuracy.value ?? null, scoreLengthSpearman: report.length.scoreLengthSpearman.value },
    peakRssMiB: { value: peakRssMiB, unit: 'MiB' },
    conditions: { model: 'models/base-policy', config: summary.manifest.config, intraOpThreads: threads, maxTokens: summary.config.maxTokens, maxPairs: summary.config.maxPairs, loadAverageBefore: loadBefore, loadAverageAfter: loadDuring },
  });
}
