// `npm run bench -- engine [--batch B] [--seq T] [--tfjs-steps N] [--no-tfjs] [--artifact DIR]
//                          [--speedup-batches 2,8] [--rounds N] [--steps N] [--no-speedup] [--no-training]
//                          [--decode-rounds N] [--decode-batches 1,8,32]
//                          [--profile-decode [--graph shipped]] [--ab-decode [--baseline-decode FILE]]`
// Training tokens/s of the reference GPT: today's step beside the engine's at batch
// 2×256 and 8×256 in the same run (engine-train.ts benchTrainingSpeedup), onnxruntime vs
// the same model and batch in @tensorflow/tfjs (CPU), decode throughput at batch 1/8/32
// and the share of a decode step spent outside session.run, each decode step against its
// physical floor from a MatMul and bandwidth probe run in the same process
// (engine-floor.ts, issue 19), peak RSS. --no-training: the decode half only.
// --profile-decode: ORT's per-node profile of the decode graph at batch 1, 8, 32;
// --ab-decode: the artifact's decode.onnx (or --baseline-decode FILE, e.g. an older
// export) against the one the current exporter writes for the same weights, session.run
// timed step by step in alternation (engine-decode-profile.ts).
import { existsSync } from 'node:fs';
import { REFERENCE_GPT_CONFIG } from '../../src/engine/gpt/config.js';
import { benchDecode } from './engine-decode.js';
import { abDecodeGraphs, profileDecodeGraph } from './engine-decode-profile.js';
import { readFile } from 'node:fs/promises';
import { readArtifact, readVerifiedFile, DECODE_FILE } from '../../src/engine/artifact/artifact.js';
import { exportInferenceGraphs } from '../../src/engine/gpt/inference-graphs.js';
import { availableParallelism, loadavg } from 'node:os';
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

  if (args.includes('--profile-decode') || args.includes('--ab-decode')) {
    if (!artifact) throw new Error('--profile-decode / --ab-decode need an artifact with serving graphs (--artifact DIR)');
    await decodeGraphStudy(artifact, args);
    return;
  }
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

  const decode = await benchDecode(artifact ?? REFERENCE_GPT_CONFIG, { batches: (flag(args, 'decode-batches') ?? '1,8,32').split(',').map(Number), rounds: Number(flag(args, 'decode-rounds') ?? 5) });
  printResult('engine', { training, trainingSpeedup, ...decode, decodeWeights: artifact ?? 'random (reference config)' });
}

/** --profile-decode / --ab-decode on `dir`'s decode graph at batch 1, 8, 32, stride 96 (the decode benchmark's mean cache length). */
async function decodeGraphStudy(dir: string, args: string[]): Promise<void> {
  const { manifest, params, tokenizer } = await readArtifact(dir);
  const config = manifest.config;
  const baselineFile = flag(args, 'baseline-decode');
  const shipped = new Uint8Array(baselineFile ? await readFile(baselineFile) : await readVerifiedFile(dir, manifest, DECODE_FILE));
  const threads = Number(flag(args, 'threads') ?? availableParallelism());
  const batches = (flag(args, 'batches') ?? '1,8,32').split(',').map(Number);
  const P = Number(flag(args, 'stride') ?? 96);
  const length = P - 1;
  const current = exportInferenceGraphs(config, params, { sampledVocab: tokenizer.vocabSize }).decode;
  const figures: Record<string, unknown> = { artifact: dir, threads, stride: P, cacheLength: length };
  if (args.includes('--profile-decode')) {
    const which = flag(args, 'graph') === 'shipped' ? shipped : current; // 'shipped': the baseline file
    const profiles = [];
    for (const B of batches) {
      const load = loadavg()[0]!;
      const p = await profileDecodeGraph(which, config, B, P, length, threads);
      profiles.push({ ...p, loadAverage1m: load });
      printTable(`decode graph (${flag(args, 'graph') === 'shipped' ? 'shipped' : 'current exporter'}) at batch ${B}, stride ${P}: ${p.nodes} kernels, ${p.kernelUs.toFixed(0)} us in kernels of ${p.runUs.toFixed(0)} us per run (ORT profiler, ${p.runs} runs, load ${load.toFixed(2)})`,
        p.byOp.map((o) => ({ op: o.op, nodes: o.nodes, 'us/step': o.us, share: o.share })));
      printTable(`  the 12 slowest nodes at batch ${B}`, p.top.map((t) => ({ node: t.node, op: t.op, 'us/step': t.us })));
    }
    figures.profiles = profiles;
  }
  if (args.includes('--ab-decode')) {
    // 1 intra-op thread looked faster here under load (batch 1: 0.70 vs 0.87 ms) but was 2–4×
    // slower inside the BatchEngine (0.45 vs 1.0–2.0 ms, same process, alternating): judge
    // thread counts with the engine, not with this loop
    const variants = [
      { name: 'baseline', model: shipped },
      { name: 'current', model: current },
    ];
    const ab = await abDecodeGraphs(variants, config, batches, P, length, threads, Number(flag(args, 'rounds') ?? 5));
    printTable(`decode session.run at stride ${P}: baseline ${baselineFile ?? `${dir}/${DECODE_FILE}`} vs the current exporter (same weights; step by step in alternation; load ${ab.loadAverage1m.map((l) => l.toFixed(1)).join(' → ')})`,
      ab.rows.map((r) => ({ batch: r.batch, variant: r.variant, steps: r.steps, 'median ms': r.runMs, 'x baseline': r.ratioToFirst, 'p10 ms': r.p10Ms, 'p10 x baseline': r.p10RatioToFirst })));
    figures.ab = ab;
  }
  printResult('engine', { decodeGraphStudy: figures });
}
