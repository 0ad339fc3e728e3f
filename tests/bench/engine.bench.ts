// `npm run bench -- engine [--batch B] [--seq T] [--tfjs-steps N] [--no-tfjs] [--artifact DIR]
//                          [--speedup-batches 2,8] [--rounds N] [--steps N] [--no-speedup] [--no-training]
//                          [--decode-rounds N]`
// Training tokens/s of the reference GPT: today's step beside the engine's at batch
// 2×256 and 8×256 in the same run (engine-train.ts benchTrainingSpeedup), onnxruntime vs
// the same model and batch in @tensorflow/tfjs (CPU), decode throughput at batch 1/8/32
// and the share of a decode step spent outside session.run, each decode step against its
// physical floor from a MatMul and bandwidth probe run in the same process
// (engine-floor.ts, issue 19), peak RSS. --no-training: the decode half only.
import { existsSync } from 'node:fs';
import { REFERENCE_GPT_CONFIG } from '../../src/engine/gpt/config.js';
import { benchDecode } from './engine-decode.js';
import { benchTraining, benchTrainingSpeedup, SPEEDUP_VARIANTS } from './engine-train.js';
import { printResult, printTable } from './table.js';

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function run(args: string[]): Promise<void> {
  const batch = Number(flag(args, 'batch') ?? 2);
  const seqLen = Number(flag(args, 'seq') ?? REFERENCE_GPT_CONFIG.maxSeqLen);
  const tfjsSteps = Number(flag(args, 'tfjs-steps') ?? 1);
  const artifact = flag(args, 'artifact') ?? (existsSync('models/base-policy/manifest.json') ? 'models/base-policy' : undefined);
  const log = (line: string) => process.stderr.write(line + '\n');

  const withTraining = !args.includes('--no-training');
  let trainingSpeedup: Record<string, unknown> | null = null;
  if (withTraining && !args.includes('--no-speedup')) {
    const batches = (flag(args, 'speedup-batches') ?? '2,8').split(',').map(Number);
    trainingSpeedup = await benchTrainingSpeedup({ batches, seqLen, rounds: Number(flag(args, 'rounds') ?? 5), stepsPerRound: Number(flag(args, 'steps') ?? 3), log });
    type Figures = { tokensPerSecond: { value: number }; stepMs: { value: number } };
    const rows = (trainingSpeedup.batches as Array<Record<string, unknown>>).flatMap((b) => SPEEDUP_VARIANTS.map((v) => ({
      batch: `${b.batch as number}x${b.seqLen as number}`,
      variant: v,
      'tokens/s': (b[v] as Figures).tokensPerSecond.value,
      'ms/step': (b[v] as Figures).stepMs.value,
      'x today (pooled)': (b.today as Figures).stepMs.value / (b[v] as Figures).stepMs.value,
    })));
    printTable('training step, today vs engine (same run, alternating steps, medians)', rows);
    for (const b of trainingSpeedup.batches as Array<{ batch: number; seqLen: number; speedup: { value: number }; speedupPerRound: { values: number[] } }>) {
      process.stdout.write(`engine / today at ${b.batch}x${b.seqLen}: ${b.speedup.value.toFixed(2)}x (median of rounds: ${b.speedupPerRound.values.map((r) => r.toFixed(2)).join(', ')})\n`);
    }
  }

  const training = !withTraining ? null : await benchTraining({ batch, seqLen, tfjsWarmupSteps: 1, tfjsSteps, skipTfjs: args.includes('--no-tfjs'), log });
  const t = training as null | {
    ort: { tokensPerSecond: { value: number }; stepMs: { value: number } };
    tfjs: { tokensPerSecond: { value: number }; stepMs: { value: number } } | null;
    ratioOrtOverTfjs: { value: number } | null;
    peakRssMiB: { value: number };
  };
  if (t) {
    printTable(`training (reference GPT, batch ${batch} x ${seqLen} tokens)`, [
      { runtime: 'onnxruntime-node', 'tokens/s': t.ort.tokensPerSecond.value, 'ms/step': t.ort.stepMs.value },
      ...(t.tfjs ? [{ runtime: '@tensorflow/tfjs (cpu)', 'tokens/s': t.tfjs.tokensPerSecond.value, 'ms/step': t.tfjs.stepMs.value }] : []),
    ]);
    process.stdout.write(`ORT / tfjs: ${t.ratioOrtOverTfjs ? t.ratioOrtOverTfjs.value.toFixed(1) + 'x' : 'n/a'}   peak RSS while training: ${t.peakRssMiB.value.toFixed(0)} MiB\n`);
  }

  const decode = await benchDecode(artifact ?? REFERENCE_GPT_CONFIG, { batches: [1, 8, 32], rounds: Number(flag(args, 'decode-rounds') ?? 5) });
  printResult('engine', { training, trainingSpeedup, ...decode, decodeWeights: artifact ?? 'random (reference config)' });
}
