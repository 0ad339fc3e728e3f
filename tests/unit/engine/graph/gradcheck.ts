// Finite-difference gradient checking for float64 graphs (shared by the graph and GPT tests).
// Central differences: (f(x+h) − f(x−h)) / 2h has truncation error O(h²) and rounding
// error O(ε/h); with h = 1e-6 in float64 both are far below the 1e-6 relative tolerance.

import { Graph, Value } from '../../../../src/engine/graph/builder.js';
import { gradients } from '../../../../src/engine/graph/autodiff.js';
import { getSession, ort } from '../../../../src/engine/graph/session.js';
import { Rng } from '../../../../src/engine/rng.js';

export interface FeedSpec {
  shape: number[];
  data: Float64Array | BigInt64Array | Uint8Array;
  dtype: 'float64' | 'int64' | 'bool';
}

export function randn(rng: Rng, shape: number[], scale = 1, offset = 0): FeedSpec {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = offset + scale * rng.normal();
  return { shape, data, dtype: 'float64' };
}

export function int64(shape: number[], values: number[]): FeedSpec {
  return { shape, data: BigInt64Array.from(values.map(BigInt)), dtype: 'int64' };
}

function tensor(f: FeedSpec): ort.Tensor {
  return new ort.Tensor(f.dtype === 'float64' ? 'float64' : f.dtype === 'int64' ? 'int64' : 'bool', f.data as never, f.shape);
}

export interface GradCheckResult {
  maxRelDiff: number;
  perInput: Record<string, number>;
}

/**
 * Builds `build(g, inputs)` on a float64 graph, reduces its output to a scalar with fixed
 * random weights, and compares autodiff gradients of every float input with central
 * differences. Returns the worst relative difference (|a−n| / max(1, |a|, |n|)).
 */
export async function gradCheck(
  feeds: Record<string, FeedSpec>,
  build: (g: Graph, inputs: Record<string, Value>) => Value,
  opts: { seed?: number; h?: number; symbolicDims?: Record<string, Array<number | string>> } = {},
): Promise<GradCheckResult> {
  const rng = new Rng(opts.seed ?? 7);
  const g = new Graph('float64');
  const inputs: Record<string, Value> = {};
  for (const [name, f] of Object.entries(feeds)) inputs[name] = g.input(name, opts.symbolicDims?.[name] ?? f.shape, f.dtype);
  const out = build(g, inputs);
  let loss: Value;
  if (out.shape.every((d) => typeof d === 'number')) {
    const n = (out.shape as number[]).reduce((a, b) => a * b, 1);
    const w = Float64Array.from({ length: n }, () => rng.normal());
    loss = g.sumAll(g.mul(out, g.constant(w, out.shape as number[])));
  } else {
    loss = g.sumAll(g.mul(out, out)); // run-time shape: a weighting that needs no static shape
  }
  const wrtNames = Object.keys(feeds).filter((k) => feeds[k]!.dtype === 'float64');
  const grads = gradients(g, [loss], wrtNames.map((k) => inputs[k]!));
  g.output('loss', loss);
  wrtNames.forEach((k, i) => g.output(`grad_${k}`, grads[i]!));
  const session = await getSession(g, { intraOpThreads: 1, optimization: 'disabled' });

  const run = async (): Promise<Record<string, ort.Tensor>> => {
    const t: Record<string, ort.Tensor> = {};
    for (const [k, f] of Object.entries(feeds)) t[k] = tensor(f);
    return session.run(t);
  };
  const base = await run();
  const h = opts.h ?? 1e-6;
  const perInput: Record<string, number> = {};
  let worst = 0;
  for (const k of wrtNames) {
    const x = feeds[k]!.data as Float64Array;
    const analytic = base[`grad_${k}`]!.data as Float64Array;
    let maxRel = 0;
    for (let i = 0; i < x.length; i++) {
      const orig = x[i]!;
      x[i] = orig + h;
      const up = Number((await run()).loss!.data[0]);
      x[i] = orig - h;
      const down = Number((await run()).loss!.data[0]);
      x[i] = orig;
      const numeric = (up - down) / (2 * h);
      const a = analytic[i]!;
      const rel = Math.abs(a - numeric) / Math.max(1, Math.abs(a), Math.abs(numeric));
      if (rel > maxRel) maxRel = rel;
    }
    perInput[k] = maxRel;
    worst = Math.max(worst, maxRel);
  }
  return { maxRelDiff: worst, perInput };
}
