// `npm run bench -- train-contention [--seconds 15] [--streams 4] [--max-tokens 32] [--train-threads N] [--batch B] [--spinning] [--no-main]`
// Chat latency of the embedded gateway while a training job runs in the same process.
// Starts the gateway (embedded mode, temp data dir, the shipped base policy or a tiny
// random artifact) and drives it with a closed loop of streaming chat requests, in phases
// of `seconds` each, measuring TTFT (request sent → first content chunk) p50/p99:
//   idle          no training
//   thread        SFT of a reference-size GPT on a TrainThread (worker), as the trainer
//                 role runs it in embedded mode
//   main          the same SFT on the main thread (Trainer straight on the event loop) —
//                 what the worker thread avoids; skipped with --no-main
//   idle-after    no training again, to bracket the machine's drift
// Training phases start measuring only after the first optimizer step has finished
// (tokenizer training and session creation are not part of the contention). The
// training's own figures (median step, tokens/s) are reported per phase. Ratios are to
// the mean of the two idle phases, measured in the same run.
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REFERENCE_GPT_CONFIG } from '../../src/engine/gpt/config.js';
import { defaultIntraOpThreads } from '../../src/engine/graph/session.js';
import type { TrainProgress } from '../../src/engine/train/trainer.js';
import { TrainingCancelledError } from '../../src/engine/train/training-program.js';
import { runTrainBase } from '../../src/rlhf/sft/train-base.js';
import { startTrainBase, type TrainBaseParams } from '../../src/rlhf/sft/train-base.program.js';
import { generateSftCorpus, renderSftExample } from '../../src/scenario/sft-corpus.js';
import { SHIPPED_BASE_POLICY, startGateway, tinyPolicyArtifact } from '../e2e/gateway/support.js';
import { positiveOption, percentileOfSorted } from './options.js';
import { closedLoop, streamOnce, type Sample } from './serve.bench.js';
import { machine, printResult, printTable } from './table.js';

interface Phase {
  phase: string;
  requests: number;
  errors: number;
  ttft_p50_ms: number;
  ttft_p99_ms: number;
  tpot_p50_ms: number;
  train_steps: number;
  train_step_p50_ms: number;
  train_tokens_per_s: number;
}

/** A training job that runs until stopped; `firstStep` resolves once a step has finished. */
interface TrainingJob {
  firstStep: Promise<void>;
  steps: TrainProgress[];
  stop(): Promise<void>;
}

const median = (xs: number[]): number => percentileOfSorted([...xs].sort((a, b) => a - b), 50);

function progressGate(): { steps: TrainProgress[]; onProgress: (p: TrainProgress) => void; firstStep: Promise<void> } {
  const steps: TrainProgress[] = [];
  let opened!: () => void;
  const firstStep = new Promise<void>((resolve) => (opened = resolve));
  return {
    steps,
    firstStep,
    onProgress: (p) => {
      steps.push(p);
      if (steps.length === 1) opened();
    },
  };
}

async function ignoreCancel(done: Promise<unknown>): Promise<void> {
  try {
    await done;
  } catch (e) {
    if (!(e instanceof TrainingCancelledError)) throw e;
  }
}

function trainOnThread(params: TrainBaseParams): TrainingJob {
  const gate = progressGate();
  const run = startTrainBase(params, { onProgress: gate.onProgress });
  return {
    firstStep: Promise.race([gate.firstStep, run.done.then(() => undefined)]),
    steps: gate.steps,
    stop: async () => {
      run.cancel();
      await ignoreCancel(run.done);
    },
  };
}

function trainOnMainThread(params: TrainBaseParams): TrainingJob {
  const gate = progressGate();
  let stopRequested = false;
  const done = runTrainBase({ ...params, onProgress: gate.onProgress, cancelRequested: () => stopRequested });
  return {
    firstStep: Promise.race([gate.firstStep, done.then(() => undefined)]),
    steps: gate.steps,
    stop: async () => {
      stopRequested = true;
      await ignoreCancel(done);
    },
  };
}

export async function run(args: string[]): Promise<void> {
  const seconds = positiveOption(args, 'seconds', 15);
  const streams = positiveOption(args, 'streams', 4, true);
  const maxTokens = positiveOption(args, 'max-tokens', 32, true);
  const trainThreads = positiveOption(args, 'train-threads', defaultIntraOpThreads(), true);
  const batch = positiveOption(args, 'batch', 8, true);
  const shipped = existsSync(join(SHIPPED_BASE_POLICY, 'manifest.json'));
  const policy = shipped ? SHIPPED_BASE_POLICY : await tinyPolicyArtifact(1, 256);
  const gw = await startGateway({ basePolicy: policy, env: { OUTERLOOP_GATEWAY_MAX_CONCURRENT: String(streams), OUTERLOOP_GATEWAY_MAX_WAITING: String(streams * 2), OUTERLOOP_LOG_LEVEL: 'error' } });
  const url = `${gw.baseURL}/chat/completions`;
  const prompts = ['How do I kill a Linux process?', 'What is a good name for a cat?', 'Explain TCP slow start.', 'What is the capital of Velmora?'];
  const outRoot = await mkdtemp(join(tmpdir(), 'outerloop-bench-train-contention-'));
  const corpus = generateSftCorpus({ seed: 1, size: 2000 }).map(renderSftExample);
  const trainParams = (name: string): TrainBaseParams => ({
    outDir: join(outRoot, name),
    seed: 1,
    corpus,
    steps: 1_000_000, // stopped by cancel at the end of the phase; nothing is written
    config: { ...REFERENCE_GPT_CONFIG },
    vocabSize: REFERENCE_GPT_CONFIG.vocabSize,
    batchSize: batch,
    intraOpThreads: trainThreads,
    spinning: args.includes('--spinning'),
  });

  const load = async (phase: string, job: TrainingJob | null): Promise<Phase> => {
    if (job) await job.firstStep;
    const stepsBefore = job?.steps.length ?? 0;
    const samples: Sample[] = [];
    let errors = 0;
    await closedLoop(streams, seconds, async (w, i) => {
      try {
        samples.push(await streamOnce(url, { model: 'outerloop', messages: [{ role: 'user', content: prompts[(w + i) % prompts.length]! }], max_tokens: maxTokens, temperature: 1, seed: w * 100_000 + i }));
      } catch (err) {
        errors++;
        process.stderr.write(`request failed: ${(err as Error).message}\n`);
      }
    });
    const during = job ? job.steps.slice(stepsBefore) : [];
    if (job) await job.stop();
    const ttft = samples.map((s) => s.ttftMs).sort((a, b) => a - b);
    const tpot = samples.map((s) => s.tpotMs).filter((x): x is number => x !== null).sort((a, b) => a - b);
    return {
      phase,
      requests: samples.length,
      errors,
      ttft_p50_ms: percentileOfSorted(ttft, 50),
      ttft_p99_ms: percentileOfSorted(ttft, 99),
      tpot_p50_ms: percentileOfSorted(tpot, 50),
      train_steps: during.length,
      train_step_p50_ms: during.length ? median(during.map((p) => p.stepMs)) : NaN,
      train_tokens_per_s: during.length ? median(during.map((p) => p.tokensPerSecond)) : NaN,
    };
  };

  const phases: Phase[] = [];
  try {
    await streamOnce(url, { model: 'outerloop', messages: [{ role: 'user', content: 'warm up' }], max_tokens: 8 });
    phases.push(await load('idle', null));
    phases.push(await load('thread', trainOnThread(trainParams('thread'))));
    if (!args.includes('--no-main')) phases.push(await load('main', trainOnMainThread(trainParams('main'))));
    phases.push(await load('idle-after', null));
  } finally {
    await gw.close();
    await rm(outRoot, { recursive: true, force: true });
  }
  const idle = phases.filter((p) => p.phase.startsWith('idle'));
  const idleP50 = idle.reduce((s, p) => s + p.ttft_p50_ms, 0) / idle.length;
  const idleP99 = idle.reduce((s, p) => s + p.ttft_p99_ms, 0) / idle.length;
  const rows = phases.map((p) => ({ ...p, ttft_p50_vs_idle: p.ttft_p50_ms / idleP50, ttft_p99_vs_idle: p.ttft_p99_ms / idleP99 }));
  printTable(`chat TTFT with and without a training job in the same process (${streams} streams, max_tokens ${maxTokens}, ${seconds}s per phase)`, rows);
  const ms = (v: number) => ({ value: v, unit: 'ms' });
  printResult('train-contention', {
    phases: Object.fromEntries(
      rows.map((r) => [
        r.phase,
        {
          requests: r.requests,
          errors: r.errors,
          ttftP50: ms(r.ttft_p50_ms),
          ttftP99: ms(r.ttft_p99_ms),
          tpotP50: ms(r.tpot_p50_ms),
          ttftP50VsIdle: { value: r.ttft_p50_vs_idle, unit: 'ratio to the mean of the idle phases' },
          ttftP99VsIdle: { value: r.ttft_p99_vs_idle, unit: 'ratio to the mean of the idle phases' },
          trainSteps: r.train_steps,
          trainStepP50: ms(r.train_step_p50_ms),
          trainTokensPerSecond: { value: r.train_tokens_per_s, unit: 'tokens/s' },
        },
      ]),
    ),
    conditions: {
      policy: shipped ? 'models/base-policy' : 'random-weight artifact (models/base-policy absent)',
      streams,
      maxTokens,
      secondsPerPhase: seconds,
      training: { model: REFERENCE_GPT_CONFIG, loss: 'sft', batch, intraOpThreads: trainThreads, spinning: args.includes('--spinning') },
      servingIntraOpThreads: gw.config.intraOpThreads || 'default',
      cores: machine().cores,
    },
  });
}
