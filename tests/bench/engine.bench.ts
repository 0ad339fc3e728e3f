// `npm run bench -- engine [--batch B] [--seq T] [--tfjs-steps N] [--no-tfjs] [--artifact DIR]`
// Training tokens/s of the reference GPT on onnxruntime vs the same model and batch
// in @tensorflow/tfjs (CPU) in the same run, decode throughput at batch 1/8/32 and
// the share of a decode step spent outside session.run, peak RSS.
import { existsSync } from 'node:fs';
import { REFERENCE_GPT_CONFIG } from '../../src/engine/gpt/config.js';
import { benchDecode } from './engine-decode.js';
import { benchTraining } from './engine-train.js';
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

  const training = await benchTraining({ batch, seqLen, tfjsWarmupSteps: 1, tfjsSteps, skipTfjs: args.includes('--no-tfjs'), log });
  const t = training as {
    ort: { tokensPerSecond: { value: number }; stepMs: { value: number } };
    tfjs: { tokensPerSecond: { value: number }; stepMs: { value: number } } | null;
    ratioOrtOverTfjs: { value: number } | null;
    peakRssMiB: { value: number };
  };
  printTable(`training (reference GPT, batch ${batch} x ${seqLen} tokens)`, [
    { runtime: 'onnxruntime-node', 'tokens/s': t.ort.tokensPerSecond.value, 'ms/step': t.ort.stepMs.value },
    ...(t.tfjs ? [{ runtime: '@tensorflow/tfjs (cpu)', 'tokens/s': t.tfjs.tokensPerSecond.value, 'ms/step': t.tfjs.stepMs.value }] : []),
  ]);
  process.stdout.write(`ORT / tfjs: ${t.ratioOrtOverTfjs ? t.ratioOrtOverTfjs.value.toFixed(1) + 'x' : 'n/a'}   peak RSS while training: ${t.peakRssMiB.value.toFixed(0)} MiB\n`);

  const decode = await benchDecode(artifact ?? REFERENCE_GPT_CONFIG, { batches: [1, 8, 32] });
  printResult('engine', { training, ...decode, decodeWeights: artifact ?? 'random (reference config)' });
}
