// Decode half of the engine benchmark (issue 3): tokens/s of the BatchEngine at batch 1,
// 8 and 32 on one artifact, and the share of a decode step spent outside session.run
// (feeding, KV-cache writes, sampling, token events). Goals: aggregate tokens/s at
// batch 32 ≥ 8× batch 1; outside-run share ≤ 15%.
//
// Every row runs exactly maxTokens (ignoreEndOfTurn) so the batch size is what the
// table says for every step. Timings come from BatchEngine.profile(): hrtime around
// `await session.run` vs around the whole decode step; wall-clock throughput (prefill
// and scheduling included) is reported next to the decode-only figure.

import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeArtifact, type InferenceGraphExporter } from '../../src/engine/artifact/artifact.js';
import { ParameterSet, type GptConfig } from '../../src/engine/gpt/config.js';
import { Rng } from '../../src/engine/rng.js';
import { BatchEngine, type GenerateParams } from '../../src/engine/runtime/index.js';
import { trainBpeTokenizer } from '../../src/engine/tokenizer/index.js';
import { SPECIAL_TOKENS } from '../../src/engine/chat-template.js';
import { decodeFloor, FloorProbes, median, medianProbe, type DecodeFloor, type ProbeRound } from './engine-floor.js';
import { printTable } from './table.js';

export interface BenchDecodeOptions {
  batches?: number[];
  promptTokens?: number;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  intraOpThreads?: number;
  /** For a config: whose serving graphs to export (default: the engine core's). */
  graphs?: 'engine' | 'reference';
  /**
   * Rounds over the batch sizes (1, 8, 32, 1, 8, 32, …); each figure is the median over
   * rounds. Interleaving keeps a slow stretch of the shared machine from landing on one
   * batch size only, which made single-run ratios swing by ±20%. Default 5.
   */
  rounds?: number;
  /** Probe MatMul and bandwidth in this run and report each step against its floor (engine-floor.ts). Default true. */
  floor?: boolean;
}

/** The engine core's exporter when it exists, else the reference graphs of the runtime tests. */
async function loadExporter(which: 'engine' | 'reference'): Promise<{ name: string; exporter: InferenceGraphExporter }> {
  const specifier = '../../src/engine/gpt/inference-graphs.js';
  if (which === 'engine') try {
    const mod = (await import(specifier)) as { exportInferenceGraphs?: InferenceGraphExporter };
    if (mod.exportInferenceGraphs) return { name: 'engine/gpt/inference-graphs', exporter: mod.exportInferenceGraphs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
  }
  const ref = await import('../unit/engine/runtime/reference-inference-graphs.js');
  return { name: 'tests/unit/engine/runtime/reference-inference-graphs', exporter: ref.referenceInferenceGraphs };
}

async function randomArtifact(config: GptConfig, which: 'engine' | 'reference'): Promise<{ dir: string; cleanup: () => Promise<void>; exporterName: string }> {
  const root = await mkdtemp(join(tmpdir(), 'outerloop-bench-decode-'));
  const dir = join(root, 'artifact');
  const corpus = ['The quick brown fox jumps over the lazy dog. How do I kill a Linux process? Use kill with its id.'];
  const tokenizer = trainBpeTokenizer({ corpus, vocabSize: Math.min(config.vocabSize, 256 + SPECIAL_TOKENS.length + 64) });
  const params = new ParameterSet(config);
  const rng = new Rng(1);
  for (let i = 0; i < params.data.length; i++) params.data[i] = rng.normal() * 0.05;
  for (const s of params.layout) if (/ln\w*\.w$/.test(s.name)) params.view(s.name).fill(1);
  const { name, exporter } = await loadExporter(which);
  await writeArtifact(dir, { config, params, tokenizer, meta: { kind: 'policy', notes: { purpose: 'decode benchmark, random weights' } } }, exporter);
  return { dir, cleanup: () => rm(root, { recursive: true, force: true }), exporterName: name };
}

export async function benchDecode(artifactDirOrConfig: string | GptConfig, opts: BenchDecodeOptions = {}): Promise<Record<string, unknown>> {
  const batches = opts.batches ?? [1, 8, 32];
  const threads = opts.intraOpThreads ?? availableParallelism();
  let dir: string;
  let cleanup = async (): Promise<void> => {};
  let source: string;
  if (typeof artifactDirOrConfig === 'string') {
    dir = artifactDirOrConfig;
    source = `artifact ${dir}`;
  } else {
    const a = await randomArtifact(artifactDirOrConfig, opts.graphs ?? 'engine');
    dir = a.dir;
    cleanup = a.cleanup;
    source = `random weights via ${a.exporterName}`;
  }
  const engine = await BatchEngine.load(dir, { maxBatch: Math.max(...batches), intraOpThreads: threads });
  const config = engine.config;
  const promptTokens = opts.promptTokens ?? 32;
  const maxTokens = opts.maxTokens ?? Math.min(128, config.maxSeqLen - promptTokens - 1);
  const temperature = opts.temperature ?? 0.7;
  const topP = opts.topP ?? 0.9;
  const rng = new Rng(7);
  const ordinaryIds = engine.tokenizer.vocabSize - SPECIAL_TOKENS.length;
  const prompt = (): number[] =>
    Array.from({ length: promptTokens }, () => {
      const k = rng.nextInt(ordinaryIds);
      return k < 256 ? k : k + SPECIAL_TOKENS.length; // skip the special ids
    });
  const request = (seed: number, tokens = maxTokens): GenerateParams => ({ prompt: prompt(), maxTokens: tokens, temperature, topP, seed, ignoreEndOfTurn: true });

  try {
    // warm-up: first runs pay for ORT kernel selection and buffer arenas
    await Promise.all(Array.from({ length: Math.max(...batches) }, (_, i) => engine.generate(request(i, 8))));
    await engine.generate(request(0, 8));

    // The floor's probes (engine-floor.ts) run in this process on the decode session's
    // thread count, once per round between the decode batches they are compared with.
    const probes = opts.floor === false ? null : await FloorProbes.open(config, batches, threads);
    const probeRounds: ProbeRound[] = [];
    const rounds = opts.rounds ?? 5;
    // the machine is shared: the 1-minute load average next to the figures says how much
    // other work competed for the cores (2 cores here; > 2 means the ratios are noisy)
    const loadBefore = loadavg()[0];
    const perRound = new Map<number, Array<Record<string, number>>>(batches.map((b) => [b, []]));
    for (let round = 0; round < rounds; round++) {
      if (probes) probeRounds.push(await probes.measure());
      for (const b of batches) {
        engine.resetProfile();
        const t0 = process.hrtime.bigint();
        const results = await Promise.all(Array.from({ length: b }, (_, i) => engine.generate(request(1000 + round * 100 + i))));
        const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
        const p = engine.profile();
        const tokens = results.reduce((s, r) => s + r.completionTokens, 0);
        perRound.get(b)!.push({
          decodeSteps: p.decodeSteps,
          meanBatch: p.decodeRowSteps / Math.max(1, p.decodeSteps),
          decodeTokensPerSec: p.decodeRowSteps / (p.decodeStepMs / 1000),
          wallTokensPerSec: tokens / (wallMs / 1000),
          stepMs: p.decodeStepMs / Math.max(1, p.decodeSteps),
          runMs: p.decodeRunMs / Math.max(1, p.decodeSteps),
          outsideRunShare: 1 - p.decodeRunMs / p.decodeStepMs,
          cacheWriteMs: p.decodeCacheWriteMs / Math.max(1, p.decodeSteps),
          sampleMs: p.decodeSampleMs / Math.max(1, p.decodeSteps),
          graphSampledShare: p.decodeGraphSampled / Math.max(1, p.decodeRowSteps),
          prefillMs: p.prefillMs,
          wallMs,
          load1m: loadavg()[0]!,
        });
      }
    }
    await probes?.close();
    // a row's cache holds the prompt, then one more position per decode step; the first
    // token comes from the prefill, so decode steps see promptTokens … promptTokens + maxTokens − 2
    const meanCacheLength = promptTokens + (maxTokens - 2) / 2;
    const probe = probeRounds.length > 0 ? medianProbe(probeRounds) : null;
    const floors = new Map<number, DecodeFloor>(probe ? batches.map((b) => [b, decodeFloor(config, b, meanCacheLength, probe)]) : []);
    const rows: Array<Record<string, number>> = batches.map((b) => {
      const rs = perRound.get(b)!;
      const row: Record<string, number> = { batch: b, rounds };
      for (const key of Object.keys(rs[0]!)) row[key] = median(rs.map((r) => r[key]!));
      const f = floors.get(b);
      if (f) {
        row.floorMs = f.floorMs;
        row.stepOverFloor = row.stepMs! / f.floorMs;
        row.runOverFloor = row.runMs! / f.floorMs;
      }
      return row;
    });
    const at = (b: number): Record<string, number> | undefined => rows.find((r) => r.batch === b);
    // the ratio per round too: its spread says how far the machine's noise moves it
    const ratioPerRound = (b: number): number[] =>
      perRound.get(b)!.map((r, i) => r.decodeTokensPerSec! / perRound.get(batches[0]!)![i]!.decodeTokensPerSec!);
    printTable(`decode (${source}; prompt ${promptTokens}, ${maxTokens} new tokens, T=${temperature}, top-p ${topP}, ${threads} threads; medians of ${rounds} interleaved rounds)`, rows);
    if (probe) {
      printTable(`decode step vs its floor (probes interleaved with the rounds, medians; ${threads} threads; read bandwidth ${probe.bandwidthGBs.toFixed(1)} GB/s; mean cache length ${meanCacheLength})`,
        [...floors.values()].map((f) => {
          const row = at(f.batch)!;
          return { batch: f.batch, 'gemm ms': f.gemmMs, 'weight-bound gemms': f.weightBoundGemms, 'kv ms': f.kvMs, 'floor ms': f.floorMs, 'step ms': row.stepMs!, 'step/floor': row.stepOverFloor!, 'run ms': row.runMs!, 'run/floor': row.runOverFloor!, goal: f.batch === 1 ? '<= 2' : f.batch === 32 ? '<= 1.5' : '' };
        }));
      printTable('MatMul probe (one GEMM of the shape, ORT, serving session options; medians over rounds)', probe.gemms.map((g) => ({ M: g.M, K: g.K, N: g.N, what: g.what, 'x per step': g.count, us: g.ms * 1000, 'GFLOP/s': g.gflops })));
    }
    const base = at(1);
    const figures: Record<string, unknown> = {
      decode: {
        source,
        config: { ...config },
        conditions: {
          promptTokens, maxTokens, temperature, topP, intraOpThreads: threads, cacheCapacity: engine.cacheCapacity, maxBatch: engine.maxBatch, rounds,
          cores: availableParallelism(), loadAverage1m: { before: loadBefore, after: loadavg()[0] },
        },
        rows: rows.map((r) => ({
          batch: r.batch,
          decodeTokensPerSec: { value: r.decodeTokensPerSec, unit: 'tokens/s' },
          wallTokensPerSec: { value: r.wallTokensPerSec, unit: 'tokens/s' },
          stepMs: { value: r.stepMs, unit: 'ms' },
          runMs: { value: r.runMs, unit: 'ms' },
          outsideRunShare: { value: r.outsideRunShare, unit: 'fraction' },
          cacheWriteMs: { value: r.cacheWriteMs, unit: 'ms/step' },
          sampleMs: { value: r.sampleMs, unit: 'ms/step' },
          graphSampledShare: { value: r.graphSampledShare, unit: 'fraction of decode tokens sampled from the graph outputs' },
        })),
        ...(base
          ? Object.fromEntries(
              batches
                .filter((b) => b !== 1)
                .map((b) => {
                  const perRoundRatios = ratioPerRound(b);
                  return [
                    `speedupBatch${b}VsBatch1`,
                    { value: at(b)!.decodeTokensPerSec / base.decodeTokensPerSec, unit: 'ratio of medians', perRound: perRoundRatios, min: Math.min(...perRoundRatios), max: Math.max(...perRoundRatios), goal: b === 32 ? '>= 8' : undefined },
                  ];
                }),
            )
          : {}),
        maxOutsideRunShare: { value: Math.max(...rows.map((r) => r.outsideRunShare)), unit: 'fraction', goal: '<= 0.15' },
        ...(probe
          ? {
              floor: {
                note: 'floor = Σ over the GEMMs of max(MatMul probe time for that shape, its weight bytes at the probed bandwidth) + KV-cache bytes at the mean cache length at the probed bandwidth; probes interleaved with the rounds in this run, same threads, medians (tests/bench/engine-floor.ts)',
                bandwidthGBs: { value: probe.bandwidthGBs, unit: 'GB/s', probe: 'ORT ReduceSum over 64 MB', perRound: probeRounds.map((r) => r.bandwidthGBs) },
                gemms: probe.gemms.map((g) => ({ M: g.M, K: g.K, N: g.N, what: g.what, count: g.count, us: g.ms * 1000, gflops: g.gflops })),
                batches: [...floors.values()].map((f) => {
                  const row = at(f.batch)!;
                  return {
                    ...f,
                    stepMs: { value: row.stepMs, unit: 'ms' },
                    runMs: { value: row.runMs, unit: 'ms' },
                    stepOverFloor: { value: row.stepOverFloor, unit: 'ratio', goal: f.batch === 1 ? '<= 2' : f.batch === 32 ? '<= 1.5' : undefined },
                    runOverFloor: { value: row.runOverFloor, unit: 'ratio' },
                  };
                }),
              },
            }
          : {}),
      },
    };
    return figures;
  } finally {
    await engine.close();
    await cleanup();
  }
}
