// Where a decode step's time goes (issue 19): ORT's own profiler (`enableProfiling`,
// per-node kernel times) over the decode graph at a given batch and cache stride, and an
// A/B of decode graphs (e.g. the shipped artifact's decode.onnx vs the one the current
// exporter writes) timed in alternation on the same feeds, so the shared machine's load
// lands on both alike.
//
// Dimension legend: B batch, P cache stride, NH heads, HS head size, L layers, V vocabulary.

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { headSize, type GptConfig } from '../../src/engine/gpt/config.js';
import { ort, servingSessionOptions } from '../../src/engine/graph/session.js';
import { MASK_IGNORE } from '../../src/engine/runtime/kv-cache.js';
import { Rng } from '../../src/engine/rng.js';
import { median } from './engine-floor.js';

export interface DecodeIo {
  feeds: Record<string, ort.Tensor>;
  fetches: Record<string, ort.Tensor>;
}

/**
 * Feeds of one decode step as the BatchEngine makes them: a (B, NH, P, HS) cache per layer
 * with `length` real positions per row (the rest masked), and pre-allocated outputs.
 */
export function decodeIo(session: ort.InferenceSession, config: GptConfig, B: number, P: number, length: number, seed = 1): DecodeIo {
  const NH = config.heads;
  const HS = headSize(config);
  const rng = new Rng(seed);
  const random = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * 0.5);
  const mask = new Float32Array(B * P).fill(MASK_IGNORE);
  for (let b = 0; b < B; b++) mask.fill(0, b * P, b * P + length);
  const feeds: Record<string, ort.Tensor> = {
    tokens: new ort.Tensor('int64', BigInt64Array.from({ length: B }, () => BigInt(rng.nextInt(256))), [B]),
    positions: new ort.Tensor('int64', new BigInt64Array(B).fill(BigInt(length)), [B]),
    past_mask: new ort.Tensor('float32', mask, [B, P]),
  };
  if (session.inputNames.includes('inv_temperature')) feeds.inv_temperature = new ort.Tensor('float32', new Float32Array(B).fill(1 / 0.7), [B]);
  for (let l = 0; l < config.layers; l++) {
    feeds[`past_k_${l}`] = new ort.Tensor('float32', random(B * NH * P * HS), [B, NH, P, HS]);
    feeds[`past_v_${l}`] = new ort.Tensor('float32', random(B * NH * P * HS), [B, NH, P, HS]);
  }
  const fetches: Record<string, ort.Tensor> = {};
  for (const meta of session.outputMetadata) {
    if (!meta.isTensor) continue;
    // a graph that writes the cache in place (GroupQueryAttention) gets the past buffers as its present outputs
    const past = /^present_([kv])_(\d+)$/.exec(meta.name);
    if (past) {
      fetches[meta.name] = feeds[`past_${past[1]}_${past[2]}`]!;
      continue;
    }
    const dims = meta.shape.map((d, i) => (typeof d === 'number' ? d : i === 0 ? B : 1));
    const size = dims.reduce((a, b) => a * b, 1);
    fetches[meta.name] = meta.type === 'int64' ? new ort.Tensor('int64', new BigInt64Array(size), dims) : new ort.Tensor('float32', new Float32Array(size), dims);
  }
  return { feeds, fetches };
}

export interface NodeTime {
  node: string;
  op: string;
  /** median µs per step */
  us: number;
}

export interface DecodeProfile {
  batch: number;
  stride: number;
  runs: number;
  /** median µs per session.run as ORT's profiler saw it (model_run) */
  runUs: number;
  /** Σ of the kernels' median µs per step */
  kernelUs: number;
  nodes: number;
  byOp: Array<{ op: string; nodes: number; us: number; share: number }>;
  top: NodeTime[];
}

interface TraceEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

/** Profiles `runs` decode steps of `model` with ORT's profiler and sums kernel times per op type. */
export async function profileDecodeGraph(model: Uint8Array, config: GptConfig, B: number, P: number, length: number, threads: number, runs = 50): Promise<DecodeProfile> {
  const dir = await mkdtemp(join(tmpdir(), 'outerloop-decode-profile-'));
  try {
    const session = await ort.InferenceSession.create(model, { ...servingSessionOptions(threads), enableProfiling: true, profileFilePrefix: join(dir, 'decode') });
    const { feeds, fetches } = decodeIo(session, config, B, P, length);
    const warmup = 10;
    for (let i = 0; i < warmup + runs; i++) await session.run(feeds, fetches);
    session.endProfiling();
    await session.release();
    const file = (await readdir(dir)).find((f) => f.endsWith('.json'));
    if (!file) throw new Error(`ORT wrote no profile into ${dir}`);
    const events = JSON.parse(await readFile(join(dir, file), 'utf8')) as TraceEvent[];
    // medians over runs, per node and for the whole run: on the shared machine a run now
    // and then loses its core for milliseconds, which a mean would spread over every node
    const modelRuns = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').slice(warmup);
    const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
    const perRun = kernels.length / (warmup + runs);
    if (!Number.isInteger(perRun)) throw new Error(`profile: ${kernels.length} kernel events do not split into ${warmup + runs} runs`);
    const durations = new Map<string, { op: string; us: number[] }>();
    for (const e of kernels.slice(perRun * warmup)) {
      const node = e.name.slice(0, -'_kernel_time'.length);
      const d = durations.get(node) ?? { op: e.args?.op_name ?? '?', us: [] };
      d.us.push(e.dur);
      durations.set(node, d);
    }
    const byNode = new Map<string, NodeTime>([...durations].map(([node, d]) => [node, { node, op: d.op, us: median(d.us) }]));
    const ops = new Map<string, { op: string; nodes: number; us: number; share: number }>();
    for (const t of byNode.values()) {
      const o = ops.get(t.op) ?? { op: t.op, nodes: 0, us: 0, share: 0 };
      o.nodes++;
      o.us += t.us;
      ops.set(t.op, o);
    }
    const kernelUs = [...byNode.values()].reduce((s, t) => s + t.us, 0);
    for (const o of ops.values()) o.share = o.us / kernelUs;
    return {
      batch: B,
      stride: P,
      runs,
      runUs: median(modelRuns.map((e) => e.dur)),
      kernelUs,
      nodes: byNode.size,
      byOp: [...ops.values()].sort((a, b) => b.us - a.us),
      top: [...byNode.values()].sort((a, b) => b.us - a.us).slice(0, 12),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface DecodeGraphVariant {
  name: string;
  model: Uint8Array;
}

export interface AbRow {
  batch: number;
  variant: string;
  /** median session.run time over every timed step */
  runMs: number;
  /** 10th percentile: the step with the least interference from other processes */
  p10Ms: number;
  steps: number;
  /** runMs ÷ the first variant's */
  ratioToFirst: number;
  p10RatioToFirst: number;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/**
 * session.run time of each variant at each batch, interleaved step by step (variant
 * order rotating), so every variant sees the same mix of quiet and loaded moments of the
 * shared machine; the median and the 10th percentile over all steps. The first variant
 * is the baseline of the ratios.
 */
export async function abDecodeGraphs(variants: DecodeGraphVariant[], config: GptConfig, batches: number[], P: number, length: number, threads: number, rounds = 5, steps = 40): Promise<{ rows: AbRow[]; loadAverage1m: number[] }> {
  const sessions = await Promise.all(variants.map((v) => ort.InferenceSession.create(v.model, servingSessionOptions(threads))));
  const load: number[] = [loadavg()[0]!];
  try {
    const io = batches.map((B) => sessions.map((s) => decodeIo(s, config, B, P, length)));
    for (let bi = 0; bi < batches.length; bi++) for (let i = 0; i < sessions.length; i++) for (let w = 0; w < 5; w++) await sessions[i]!.run(io[bi]![i]!.feeds, io[bi]![i]!.fetches);
    const times = batches.map(() => sessions.map((): number[] => []));
    for (let r = 0; r < rounds; r++) {
      for (let bi = 0; bi < batches.length; bi++) {
        for (let s = 0; s < steps; s++) {
          for (let k = 0; k < sessions.length; k++) {
            const i = (k + s) % sessions.length;
            const { feeds, fetches } = io[bi]![i]!;
            const t0 = performance.now();
            await sessions[i]!.run(feeds, fetches);
            times[bi]![i]!.push(performance.now() - t0);
          }
        }
      }
      load.push(loadavg()[0]!);
    }
    const rows: AbRow[] = [];
    batches.forEach((B, bi) => {
      const base = median(times[bi]![0]!);
      const baseP10 = percentile(times[bi]![0]!, 10);
      variants.forEach((v, i) => {
        const t = times[bi]![i]!;
        rows.push({ batch: B, variant: v.name, runMs: median(t), p10Ms: percentile(t, 10), steps: t.length, ratioToFirst: median(t) / base, p10RatioToFirst: percentile(t, 10) / baseP10 });
      });
    });
    return { rows, loadAverage1m: load };
  } finally {
    for (const s of sessions) await s.release();
  }
}
