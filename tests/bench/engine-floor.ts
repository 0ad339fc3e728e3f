// The physical floor of a decode step (issue 19), from probes measured in the same run as
// the step it is compared with — absolute speeds on the shared 2-core machine drift by
// tens of percent between runs, so a floor measured yesterday says nothing about today.
//
// floor(B) = Σ over the step's GEMMs of max(time the MatMul probe measured for exactly
//            that shape with its operands in cache, its weight matrix's bytes / bandwidth)
//          + bytes of the KV cache the step must read / bandwidth
// with the bandwidth from a sum over a 64 MB array (twice the L3), as the issue measured.
//
// It is the derivation: at batch 32 the GEMMs at the probe's GFLOP/s plus the
// KV-cache reads (the attention's own MatMuls are memory-bound, so their bytes, not their
// flops, count); at batch 1 the weights' reads. Compute and memory terms are added, not
// overlapped, so the floor is generous to the step. Not counted: the elementwise work
// (LayerNorm, GELU, the softmax/top-K/cdf over B × V), which the issue puts well under
// 0.3 ms at batch 32.
//
// Dimension legend: B batch, C channels, V vocabulary, L layers, NH heads, HS head size.

import { Graph } from '../../src/engine/graph/builder.js';
import { ort, servingSessionOptions } from '../../src/engine/graph/session.js';
import { headSize, type GptConfig } from '../../src/engine/gpt/config.js';
import { Rng } from '../../src/engine/rng.js';

export interface GemmShape {
  /** rows (the batch), inner, output columns */
  M: number;
  K: number;
  N: number;
  /** how many of this shape one decode step runs */
  count: number;
  what: string;
}

/** The GEMMs of one decode step at batch B: per layer QKV, attention projection, MLP up and down; the tied LM head. */
export function decodeGemmShapes(config: GptConfig, B: number): GemmShape[] {
  const { channels: C, layers: L, vocabSize: V } = config;
  return [
    { M: B, K: C, N: 3 * C, count: L, what: 'qkv' },
    { M: B, K: C, N: C, count: L, what: 'attn.proj' },
    { M: B, K: C, N: 4 * C, count: L, what: 'mlp.fc' },
    { M: B, K: 4 * C, N: C, count: L, what: 'mlp.proj' },
    { M: B, K: C, N: V, count: 1, what: 'lm head' },
  ];
}

export interface GemmProbe extends GemmShape {
  /** median time of one MatMul of this shape */
  ms: number;
  gflops: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median wall time (ms) of `run`, each sample averaging enough runs to last ≥ `sampleMs`. */
async function timeRuns(run: () => Promise<unknown>, samples: number, sampleMs: number): Promise<number> {
  const t0 = performance.now();
  await run();
  const once = Math.max(performance.now() - t0, 1e-3);
  const perSample = Math.max(1, Math.ceil(sampleMs / once));
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const a = performance.now();
    for (let i = 0; i < perSample; i++) await run();
    times.push((performance.now() - a) / perSample);
  }
  return median(times);
}

interface ProbeSession {
  session: ort.InferenceSession;
  run: () => Promise<unknown>;
  /** kernels per run (the MatMul probe's R) */
  per: number;
}

/**
 * One graph per GEMM shape: R MatMuls of the same x (M, K) by R different weights (K, N)
 * (R·K·N·4 bytes ≤ 4 MB, so they stay in the L3 like the repeated single
 * MatMul), through the engine's own Graph → InferenceSession with the serving options
 * (optimization 'all', the decode session's threads). R kernels per run spread the fixed
 * cost of session.run, which would otherwise inflate a µs-sized GEMM at batch 1.
 */
async function matMulProbe(M: number, K: number, N: number, threads: number): Promise<ProbeSession> {
  const R = Math.max(1, Math.min(16, Math.floor((4 << 20) / (K * N * 4))));
  const g = new Graph('float32', 'matmul_probe');
  const rng = new Rng(M * 7919 + K * 31 + N);
  const x = g.input('x', [M, K]);
  for (let r = 0; r < R; r++) {
    const w = Float32Array.from({ length: K * N }, () => rng.normal() * 0.05);
    g.output(`y${r}`, g.matmul(x, g.initializer(`w${r}`, { dtype: 'float32', shape: [K, N], values: w })));
  }
  const session = await ort.InferenceSession.create(g.serialize(), servingSessionOptions(threads));
  const feeds = { x: new ort.Tensor('float32', Float32Array.from({ length: M * K }, () => rng.normal()), [M, K]) };
  const fetches = Object.fromEntries(Array.from({ length: R }, (_, r) => [`y${r}`, new ort.Tensor('float32', new Float32Array(M * N), [M, N])]));
  return { session, run: () => session.run(feeds, fetches), per: R };
}

/** ReduceSum over a 64 MB float array (twice the L3): the read bandwidth the decode session's threads get. */
async function bandwidthProbe(threads: number): Promise<ProbeSession & { bytes: number }> {
  const floats = 16 << 20;
  const g = new Graph('float32', 'bandwidth_probe');
  g.output('s', g.reduceSum(g.input('x', [floats]), [0], false));
  const session = await ort.InferenceSession.create(g.serialize(), servingSessionOptions(threads));
  const feeds = { x: new ort.Tensor('float32', new Float32Array(floats).fill(1), [floats]) };
  return { session, run: () => session.run(feeds), per: 1, bytes: floats * 4 };
}

export interface ProbeRound {
  gemms: GemmProbe[];
  bandwidthGBs: number;
}

/**
 * The MatMul probe for every GEMM shape of the decode step at each batch, and the
 * bandwidth probe. Sessions are built once; `measure()` is called once per benchmark
 * round, between the decode steps it is compared with, so probes and steps share the
 * machine's load of that moment.
 */
export class FloorProbes {
  private constructor(
    private readonly shapes: Array<GemmShape & { probe: ProbeSession }>,
    private readonly bandwidth: ProbeSession & { bytes: number },
  ) {}

  static async open(config: GptConfig, batches: number[], threads: number): Promise<FloorProbes> {
    const shapes: Array<GemmShape & { probe: ProbeSession }> = [];
    for (const B of batches) for (const s of decodeGemmShapes(config, B)) shapes.push({ ...s, probe: await matMulProbe(s.M, s.K, s.N, threads) });
    const probes = new FloorProbes(shapes, await bandwidthProbe(threads));
    await probes.measure(); // warm-up: kernel selection, arenas
    return probes;
  }

  async measure(samples = 3, sampleMs = 20): Promise<ProbeRound> {
    const gemms: GemmProbe[] = [];
    for (const { probe, ...s } of this.shapes) {
      const ms = (await timeRuns(probe.run, samples, sampleMs)) / probe.per;
      gemms.push({ ...s, ms, gflops: (2 * s.M * s.K * s.N) / (ms / 1000) / 1e9 });
    }
    const bwMs = await timeRuns(this.bandwidth.run, samples, 60);
    return { gemms, bandwidthGBs: this.bandwidth.bytes / (bwMs / 1000) / 1e9 };
  }

  async close(): Promise<void> {
    for (const s of this.shapes) await s.probe.session.release();
    await this.bandwidth.session.release();
  }
}

/** The median of each probe over rounds. */
export function medianProbe(rounds: ProbeRound[]): ProbeRound {
  const gemms = rounds[0]!.gemms.map((g, i) => {
    const ms = median(rounds.map((r) => r.gemms[i]!.ms));
    return { ...g, ms, gflops: (2 * g.M * g.K * g.N) / (ms / 1000) / 1e9 };
  });
  return { gemms, bandwidthGBs: median(rounds.map((r) => r.bandwidthGBs)) };
}

export interface DecodeFloor {
  batch: number;
  /** mean positions in a row's cache over the decode steps (what attention must read) */
  meanCacheLength: number;
  /** Σ over GEMMs of max(probe time, its weight matrix's bytes at the bandwidth) */
  gemmMs: number;
  /** the part of gemmMs where streaming the weights, not arithmetic, bounds the GEMM */
  weightBoundGemms: number;
  kvBytes: number;
  kvMs: number;
  weightBytes: number;
  floorMs: number;
}

/**
 * The floor of a decode step at batch B from one (median) probe round: each GEMM takes at
 * least its probe time (arithmetic, operands in cache) and at least the time to read its
 * weight matrix at the probed bandwidth — at batch 1 the latter (the "weights
 * ~8 MB ≈ 0.4 ms of reads"), at batch 32 the former — plus the KV cache's bytes at the
 * bandwidth. Elementwise ops, LayerNorm weights and the B × V softmax/top-K tail are not
 * counted.
 */
export function decodeFloor(config: GptConfig, B: number, meanCacheLength: number, probe: ProbeRound): DecodeFloor {
  const bytesPerMs = probe.bandwidthGBs * 1e6;
  let gemmMs = 0;
  let weightBoundGemms = 0;
  let weightBytes = 0;
  for (const g of probe.gemms.filter((x) => x.M === B)) {
    const bytes = g.K * g.N * 4;
    weightBytes += g.count * bytes;
    const readMs = bytes / bytesPerMs;
    if (readMs > g.ms) weightBoundGemms += g.count;
    gemmMs += g.count * Math.max(g.ms, readMs);
  }
  const NH = config.heads;
  const HS = headSize(config);
  // K and V of every layer over each row's real positions (the new token's own k, v come from the step)
  const kvBytes = B * NH * meanCacheLength * HS * 4 * 2 * config.layers;
  const kvMs = kvBytes / bytesPerMs;
  return { batch: B, meanCacheLength, gemmMs, weightBoundGemms, kvBytes, kvMs, weightBytes, floorMs: gemmMs + kvMs };
}
