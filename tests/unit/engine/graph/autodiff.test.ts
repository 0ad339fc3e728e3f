// Every op's vector-Jacobian rule against central finite differences on float64 graphs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../../../../src/engine/graph/builder.js';
import { gradients } from '../../../../src/engine/graph/autodiff.js';
import { runGraph, ort } from '../../../../src/engine/graph/session.js';
import { GraphError, ShapeError } from '../../../../src/engine/errors.js';
import { Rng } from '../../../../src/engine/rng.js';
import { gradCheck, randn, int64, FeedSpec } from './gradcheck.js';

const TOL = 1e-6;
const rng = new Rng(1234);
const positive = (shape: number[]): FeedSpec => {
  const f = randn(rng, shape, 0.3, 0);
  const d = f.data as Float64Array;
  for (let i = 0; i < d.length; i++) d[i] = 0.5 + Math.abs(d[i]!);
  return f;
};
/** Values bounded away from 0 (for Abs/Relu kinks) and from each other. */
const awayFromZero = (shape: number[]): FeedSpec => {
  const f = randn(rng, shape);
  const d = f.data as Float64Array;
  for (let i = 0; i < d.length; i++) d[i] = (d[i]! < 0 ? -0.2 : 0.2) + d[i]!;
  return f;
};

interface Case {
  name: string;
  feeds: () => Record<string, FeedSpec>;
  build: Parameters<typeof gradCheck>[1];
  symbolicDims?: Record<string, Array<number | string>>;
}

const cases: Case[] = [
  { name: 'Add with broadcasting (row + column)', feeds: () => ({ a: randn(rng, [2, 3, 4]), b: randn(rng, [3, 1]) }), build: (g, x) => g.add(x.a!, x.b!) },
  { name: 'Sub with broadcasting', feeds: () => ({ a: randn(rng, [4]), b: randn(rng, [2, 3, 4]) }), build: (g, x) => g.sub(x.a!, x.b!) },
  { name: 'Mul with broadcasting', feeds: () => ({ a: randn(rng, [2, 1, 4]), b: randn(rng, [3, 1]) }), build: (g, x) => g.mul(x.a!, x.b!) },
  { name: 'Div', feeds: () => ({ a: randn(rng, [2, 3]), b: positive([1, 3]) }), build: (g, x) => g.div(x.a!, x.b!) },
  { name: 'Pow (constant exponent 3 and 2)', feeds: () => ({ a: randn(rng, [5]) }), build: (g, x) => g.add(g.pow(x.a!, 3), g.pow(x.a!, 2)) },
  { name: 'Pow (fractional exponent)', feeds: () => ({ a: positive([5]) }), build: (g, x) => g.pow(x.a!, -1.5) },
  { name: 'Exp', feeds: () => ({ a: randn(rng, [2, 3]) }), build: (g, x) => g.exp(x.a!) },
  { name: 'Log', feeds: () => ({ a: positive([2, 3]) }), build: (g, x) => g.log(x.a!) },
  { name: 'Tanh', feeds: () => ({ a: randn(rng, [2, 3]) }), build: (g, x) => g.tanh(x.a!) },
  { name: 'Sqrt', feeds: () => ({ a: positive([2, 3]) }), build: (g, x) => g.sqrt(x.a!) },
  { name: 'Neg', feeds: () => ({ a: randn(rng, [3]) }), build: (g, x) => g.neg(x.a!) },
  { name: 'Abs', feeds: () => ({ a: awayFromZero([6]) }), build: (g, x) => g.abs(x.a!) },
  { name: 'Sigmoid', feeds: () => ({ a: randn(rng, [6]) }), build: (g, x) => g.sigmoid(x.a!) },
  { name: 'logSigmoid (composed, stable)', feeds: () => ({ a: randn(rng, [6], 3) }), build: (g, x) => g.logSigmoid(x.a!) },
  { name: 'Softplus (stable composition, own rule σ(x))', feeds: () => ({ a: randn(rng, [6], 3) }), build: (g, x) => g.softplus(x.a!) },
  { name: 'Relu', feeds: () => ({ a: awayFromZero([6]) }), build: (g, x) => g.relu(x.a!) },
  { name: 'Clip (PPO ratio clipping)', feeds: () => ({ a: { shape: [6], dtype: 'float64', data: Float64Array.of(0.5, 0.85, 1.0, 1.1, 1.3, 2) } }), build: (g, x) => g.clip(x.a!, 0.8, 1.2) },
  { name: 'Min with broadcasting', feeds: () => ({ a: randn(rng, [3, 4]), b: randn(rng, [4]) }), build: (g, x) => g.min(x.a!, x.b!) },
  { name: 'Max with broadcasting', feeds: () => ({ a: randn(rng, [3, 4]), b: randn(rng, [3, 1]) }), build: (g, x) => g.max(x.a!, x.b!) },
  {
    name: 'Where with a broadcast condition',
    feeds: () => ({ a: randn(rng, [3, 4]), b: randn(rng, [4]), c: { shape: [3, 1], dtype: 'bool', data: Uint8Array.of(1, 0, 1) } }),
    build: (g, x) => g.where(x.c!, x.a!, x.b!),
  },
  { name: 'MatMul 2-D', feeds: () => ({ a: randn(rng, [3, 4]), b: randn(rng, [4, 5]) }), build: (g, x) => g.matmul(x.a!, x.b!) },
  { name: 'MatMul batched (B, NH, T, HS) @ (B, NH, HS, T)', feeds: () => ({ a: randn(rng, [2, 2, 3, 4]), b: randn(rng, [2, 2, 4, 3]) }), build: (g, x) => g.matmul(x.a!, x.b!) },
  { name: 'MatMul with a shared weight (B, T, C) @ (C, OC)', feeds: () => ({ a: randn(rng, [2, 3, 4]), b: randn(rng, [4, 5]) }), build: (g, x) => g.matmul(x.a!, x.b!) },
  { name: 'MatMul with broadcast batch on the left', feeds: () => ({ a: randn(rng, [3, 4]), b: randn(rng, [2, 4, 2]) }), build: (g, x) => g.matmul(x.a!, x.b!) },
  { name: 'ReduceSum keepdims', feeds: () => ({ a: randn(rng, [2, 3, 4]) }), build: (g, x) => g.reduceSum(x.a!, [0, 2], true) },
  { name: 'ReduceSum no keepdims', feeds: () => ({ a: randn(rng, [2, 3, 4]) }), build: (g, x) => g.reduceSum(x.a!, [1], false) },
  { name: 'ReduceMean', feeds: () => ({ a: randn(rng, [2, 3, 4]) }), build: (g, x) => g.reduceMean(x.a!, [-1], false) },
  { name: 'ReduceMax', feeds: () => ({ a: randn(rng, [3, 5]) }), build: (g, x) => g.reduceMax(x.a!, [1], true) },
  { name: 'Softmax', feeds: () => ({ a: randn(rng, [2, 5]) }), build: (g, x) => g.softmax(x.a!, -1) },
  { name: 'Softmax on axis 0', feeds: () => ({ a: randn(rng, [4, 2]) }), build: (g, x) => g.softmax(x.a!, 0) },
  { name: 'LogSoftmax', feeds: () => ({ a: randn(rng, [2, 5]) }), build: (g, x) => g.logSoftmax(x.a!, -1) },
  {
    name: 'LayerNorm composed from primitives (float64 path)',
    feeds: () => ({ x: randn(rng, [2, 3, 5]), w: randn(rng, [5], 0.5, 1), b: randn(rng, [5]) }),
    build: (g, x) => g.layerNorm(x.x!, x.w!, x.b!, 1e-5),
  },
  {
    name: 'Gather (embedding lookup with a repeated id)',
    feeds: () => ({ wte: randn(rng, [5, 3]), ids: int64([2, 3], [1, 4, 1, 0, 1, 3]) }),
    build: (g, x) => g.gather(x.wte!, x.ids!, 0),
  },
  {
    name: 'GatherElements (target log-prob pick)',
    feeds: () => ({ lp: randn(rng, [2, 3, 5]), t: int64([2, 3, 1], [0, 4, 2, 2, 1, 3]) }),
    build: (g, x) => g.gatherElements(x.lp!, x.t!, -1),
  },
  { name: 'Transpose', feeds: () => ({ a: randn(rng, [2, 3, 4]) }), build: (g, x) => g.transpose(x.a!, [1, 2, 0]) },
  { name: 'Reshape (split heads)', feeds: () => ({ a: randn(rng, [2, 3, 6]) }), build: (g, x) => g.reshape(x.a!, [0, 0, 2, 3]) },
  { name: 'Unsqueeze + Squeeze', feeds: () => ({ a: randn(rng, [2, 3]) }), build: (g, x) => g.mul(g.unsqueeze(x.a!, [1]), g.squeeze(g.unsqueeze(x.a!, [0]), [0])) },
  { name: 'Expand', feeds: () => ({ a: randn(rng, [3, 1]) }), build: (g, x) => g.expand(x.a!, [2, 3, 4]) },
  { name: 'Concat', feeds: () => ({ a: randn(rng, [2, 3]), b: randn(rng, [2, 2]) }), build: (g, x) => g.concat([x.a!, x.b!, x.a!], 1) },
  { name: 'Slice (split q, k, v)', feeds: () => ({ a: randn(rng, [2, 9]) }), build: (g, x) => g.mul(g.slice(x.a!, 1, 0, 3), g.slice(x.a!, 1, 6, 9)) },
  { name: 'GELU composed (float64 path of FastGelu)', feeds: () => ({ a: randn(rng, [8], 2) }), build: (g, x) => g.gelu(x.a!) },
  {
    name: 'Split (q, k, v) with one part unused',
    feeds: () => ({ a: randn(rng, [2, 3, 9]) }),
    build: (g, x) => {
      const [q, , v] = g.split(x.a!, -1, [3, 3, 3]);
      return g.mul(q!, g.exp(v!));
    },
  },
  {
    name: 'symbolic batch dim: broadcast, mean and matmul with run-time shapes',
    feeds: () => ({ x: randn(rng, [3, 4]), w: randn(rng, [4, 2]), b: randn(rng, [2]) }),
    symbolicDims: { x: ['B', 4] },
    build: (g, x) => {
      const h = g.add(g.matmul(x.x!, x.w!), x.b!); // (B, 2)
      return g.sub(h, g.reduceMean(h, [0], true));
    },
  },
  {
    name: 'a value used twice accumulates both gradients',
    feeds: () => ({ a: randn(rng, [3]) }),
    build: (g, x) => g.mul(g.exp(x.a!), g.tanh(x.a!)),
  },
];

describe('autodiff: every VJP rule matches central finite differences (float64)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const r = await gradCheck(c.feeds(), c.build, { ...(c.symbolicDims ? { symbolicDims: c.symbolicDims } : {}) });
      assert.ok(r.maxRelDiff < TOL, `${c.name}: max relative diff ${r.maxRelDiff} ≥ ${TOL} (${JSON.stringify(r.perInput)})`);
    });
  }
});

describe('autodiff: rules for ops without a float64 kernel in ORT CPU (checked in float32)', () => {
  it('Erf: gradient equals 2/√π·exp(−x²)·seed', async () => {
    // ORT CPU has no double Erf kernel ("Could not find an implementation for Erf(13)"),
    // so the rule is checked against the closed form in float32.
    const g = new Graph('float32');
    const a = g.input('a', [7]);
    const seed = g.input('seed', [7]);
    const [ga] = gradients(g, [g.erf(a)], [a], [seed]);
    g.output('ga', ga!);
    const xs = Float32Array.of(-2.5, -1, -0.3, 0, 0.2, 1.1, 2);
    const seeds = Float32Array.of(1, 2, -1, 0.5, 3, -2, 1);
    const out = await runGraph(g, { a: new ort.Tensor('float32', xs, [7]), seed: new ort.Tensor('float32', seeds, [7]) });
    const got = out.ga!.data as Float32Array;
    xs.forEach((x, i) => {
      const want = (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * seeds[i]!;
      assert.ok(Math.abs(got[i]! - want) < 1e-6 * Math.max(1, Math.abs(want)), `erf'(${x}): ${got[i]} vs ${want}`);
    });
  });

  it('LayerNormalization: the fused op\'s hand-written rule equals autodiff through the composed LayerNorm', async () => {
    const g = new Graph('float32');
    const x = g.input('x', [2, 3, 8]);
    const w = g.input('w', [8]);
    const b = g.input('b', [8]);
    const seed = g.input('seed', [2, 3, 8]);
    const fused = g.layerNorm(x, w, b, 1e-5, true);
    const composed = g.layerNormComposed(x, w, b, 1e-5);
    const gf = gradients(g, [fused], [x, w, b], [seed]);
    const gc = gradients(g, [composed], [x, w, b], [seed]);
    g.output('yf', fused);
    g.output('yc', composed);
    ['x', 'w', 'b'].forEach((n, i) => {
      g.output(`f_${n}`, gf[i]!);
      g.output(`c_${n}`, gc[i]!);
    });
    const r = new Rng(5);
    const t = (shape: number[], scale = 1, offset = 0): InstanceType<typeof ort.Tensor> => {
      const n = shape.reduce((p, q) => p * q, 1);
      return new ort.Tensor('float32', Float32Array.from({ length: n }, () => offset + scale * r.normal()), shape);
    };
    const out = await runGraph(g, { x: t([2, 3, 8], 2, 1), w: t([8], 0.5, 1), b: t([8]), seed: t([2, 3, 8]) });
    for (const [p, q] of [['yf', 'yc'], ['f_x', 'c_x'], ['f_w', 'c_w'], ['f_b', 'c_b']] as const) {
      const a = out[p]!.data as Float32Array, c = out[q]!.data as Float32Array;
      let maxdiff = 0;
      for (let i = 0; i < a.length; i++) maxdiff = Math.max(maxdiff, Math.abs(a[i]! - c[i]!));
      assert.ok(maxdiff < 2e-5, `${p} vs ${q}: maxdiff ${maxdiff}`);
    }
  });
});

describe('autodiff: fused float32 kernels agree with their composed float64-checked forms', () => {
  it('FastGelu: forward and hand-written gradient equal the composed GELU and its autodiff', async () => {
    const g = new Graph('float32');
    const x = g.input('x', [64]);
    const seed = g.input('seed', [64]);
    const fused = g.gelu(x, true);
    const composed = g.geluComposed(x);
    const [gf] = gradients(g, [fused], [x], [seed]);
    const [gc] = gradients(g, [composed], [x], [seed]);
    g.output('yf', fused);
    g.output('yc', composed);
    g.output('gf', gf!);
    g.output('gc', gc!);
    const r = new Rng(6);
    const xs = Float32Array.from({ length: 64 }, () => 3 * r.normal());
    const out = await runGraph(g, { x: new ort.Tensor('float32', xs, [64]), seed: new ort.Tensor('float32', Float32Array.from({ length: 64 }, () => r.normal()), [64]) });
    for (const [p, q] of [['yf', 'yc'], ['gf', 'gc']] as const) {
      const a = out[p]!.data as Float32Array, c = out[q]!.data as Float32Array;
      let maxdiff = 0;
      for (let i = 0; i < a.length; i++) maxdiff = Math.max(maxdiff, Math.abs(a[i]! - c[i]!));
      assert.ok(maxdiff < 2e-6, `${p} vs ${q}: maxdiff ${maxdiff}`);
    }
  });
});

describe('autodiff: behaviour', () => {
  it('returns zeros for an input that does not influence the output', async () => {
    const g = new Graph('float64');
    const a = g.input('a', [2]);
    const b = g.input('b', [3]);
    const [, gb] = gradients(g, [g.sumAll(g.mul(a, a))], [a, b]);
    g.output('gb', gb!);
    const out = await runGraph(g, { a: new ort.Tensor('float64', Float64Array.of(1, 2), [2]), b: new ort.Tensor('float64', Float64Array.of(1, 2, 3), [3]) });
    assert.deepEqual(Array.from(out.gb!.data as Float64Array), [0, 0, 0]);
  });

  it('uses the upstream seed (vector-Jacobian product, not just a gradient)', async () => {
    const g = new Graph('float64');
    const a = g.input('a', [3]);
    const seed = g.input('seed', [3]);
    const [ga] = gradients(g, [g.mul(a, a)], [a], [seed]);
    g.output('ga', ga!);
    const out = await runGraph(g, { a: new ort.Tensor('float64', Float64Array.of(1, 2, 3), [3]), seed: new ort.Tensor('float64', Float64Array.of(1, 10, 100), [3]) });
    assert.deepEqual(Array.from(out.ga!.data as Float64Array), [2, 40, 600]);
  });

  it('rejects an op without a gradient rule with a GraphError naming the op', () => {
    const g = new Graph('float64');
    const a = g.input('a', [3]);
    const y = g.node('Floor', [a], {}, 1, [a.shape], ['float64'])[0]!;
    assert.throws(() => gradients(g, [g.sumAll(y)], [a]), (e: unknown) => e instanceof GraphError && /Floor/.test(e.message));
  });

  it('rejects incompatible static shapes with a ShapeError', () => {
    const g = new Graph();
    assert.throws(() => g.add(g.input('a', [2, 3]), g.input('b', [4])), ShapeError);
    assert.throws(() => g.matmul(g.input('c', [2, 3]), g.input('d', [4, 5])), ShapeError);
  });
});
