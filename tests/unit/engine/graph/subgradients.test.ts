// Gradients AT the points where an op is not differentiable: x = 0 exactly, and exact
// ties of Min/Max. Finite differences never land there (autodiff.test.ts checks the
// rules at perturbed points), yet training does: the reward head starts at zero, so the
// first reward-model step has margin 0 exactly; DPO's first step has policy = reference,
// so every logit of its loss is exactly 0. Each expected value below is the derivative
// written by hand (or, at a kink, the documented subgradient), not a rerun of the rule.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, Value } from '../../../../src/engine/graph/builder.js';
import { gradients } from '../../../../src/engine/graph/autodiff.js';
import { runGraph, ort } from '../../../../src/engine/graph/session.js';

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
/** log(1 + eˣ) with log1p, the way a float64 reference computes it. */
const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

interface Operand {
  shape: number[];
  values: number[];
}

/**
 * Builds y = build(inputs) on a float64 graph, seeds dy with ones and returns y and the
 * gradient of every operand, as plain arrays.
 */
async function valueAndGradients(operands: Record<string, Operand>, build: (g: Graph, x: Record<string, Value>) => Value): Promise<{ y: number[]; grads: Record<string, number[]> }> {
  const g = new Graph('float64');
  const inputs: Record<string, Value> = {};
  for (const [name, o] of Object.entries(operands)) inputs[name] = g.input(name, o.shape);
  const y = build(g, inputs);
  const names = Object.keys(operands);
  const grads = gradients(g, [y], names.map((n) => inputs[n]!));
  g.output('y', y);
  names.forEach((n, i) => g.output(`grad_${n}`, grads[i]!));
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, o] of Object.entries(operands)) feeds[name] = new ort.Tensor('float64', Float64Array.from(o.values), o.shape);
  const out = await runGraph(g, feeds, { intraOpThreads: 1 });
  const result: Record<string, number[]> = {};
  for (const n of names) result[n] = Array.from(out[`grad_${n}`]!.data as Float64Array);
  return { y: Array.from(out.y!.data as Float64Array), grads: result };
}

function assertClose(got: number[], want: number[], what: string, tol = 1e-15): void {
  assert.equal(got.length, want.length, `${what}: length`);
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= tol, `${what}[${i}]: ${v}, expected ${want[i]}`));
}

describe('gradients at non-differentiable points and exact ties (float64)', () => {
  it('log-sigmoid: d/dx log σ(x) = σ(−x), also at x = 0 exactly and for large |x|', async () => {
    const xs = [0, -0, 1e-300, 3, -3, 40, -40, 1000, -1000];
    const { y, grads } = await valueAndGradients({ x: { shape: [xs.length], values: xs } }, (g, v) => g.logSigmoid(v.x!));
    assertClose(grads.x!, xs.map((x) => sigmoid(-x)), 'd logσ/dx');
    // The forward stays finite where a naive log(1 / (1 + exp(−x))) overflows.
    assertClose(y, xs.map((x) => -softplus(-x)), 'log σ(x)', 1e-14);
  });

  it('softplus: d/dx log(1 + eˣ) = σ(x), also at x = 0 exactly and for large |x|', async () => {
    const xs = [0, -0, 2, -2, 40, -40, 1000, -1000];
    const { y, grads } = await valueAndGradients({ x: { shape: [xs.length], values: xs } }, (g, v) => g.softplus(v.x!));
    assertClose(grads.x!, xs.map(sigmoid), 'd softplus/dx');
    assertClose(y, xs.map(softplus), 'softplus(x)', 1e-14);
  });

  it('the Bradley–Terry loss −log σ(r_c − r_r) at a zero margin sends ∓½ to the two rewards', async () => {
    // The reward model's first step: the reward head is initialised to zero, so r_c = r_r.
    const { grads } = await valueAndGradients(
      { rc: { shape: [3], values: [0, 0.25, -1] }, rr: { shape: [3], values: [0, 0.25, -1] } },
      (g, v) => g.neg(g.logSigmoid(g.sub(v.rc!, v.rr!))),
    );
    assertClose(grads.rc!, [-0.5, -0.5, -0.5], 'dL/dr_chosen');
    assertClose(grads.rr!, [0.5, 0.5, 0.5], 'dL/dr_rejected');
  });

  it('Min: exact ties split the gradient evenly; elsewhere the smaller operand takes it all', async () => {
    const { grads } = await valueAndGradients(
      { a: { shape: [5], values: [1, 2, 3, 0, -0] }, b: { shape: [5], values: [1, 0, 5, 0, 0] } },
      (g, v) => g.min(v.a!, v.b!),
    );
    assertClose(grads.a!, [0.5, 0, 1, 0.5, 0.5], 'dmin/da');
    assertClose(grads.b!, [0.5, 1, 0, 0.5, 0.5], 'dmin/db');
  });

  it('Max: exact ties split the gradient evenly; min(x, x) and max(x, x) have derivative 1', async () => {
    const { grads } = await valueAndGradients(
      { a: { shape: [4], values: [1, 2, 3, -7] }, b: { shape: [4], values: [1, 0, 5, -7] } },
      (g, v) => g.add(g.max(v.a!, v.b!), g.add(g.min(v.a!, v.a!), g.max(v.b!, v.b!))),
    );
    assertClose(grads.a!, [1.5, 2, 1, 1.5], 'd/da');
    assertClose(grads.b!, [1.5, 1, 2, 1.5], 'd/db');
  });

  it('Min with broadcasting: a broadcast operand sums its halves over the tied positions', async () => {
    // a (2, 3) against b (3): ties at (0, 0), (1, 0) and (0, 1).
    const a = [1, 2, 3, 1, 0, 3];
    const b = [1, 2, 0];
    const { y, grads } = await valueAndGradients({ a: { shape: [2, 3], values: a }, b: { shape: [3], values: b } }, (g, v) => g.min(v.a!, v.b!));
    assertClose(y, [1, 2, 0, 1, 0, 0], 'min');
    assertClose(grads.a!, [0.5, 0.5, 0, 0.5, 1, 0], 'dmin/da');
    assertClose(grads.b!, [0.5 + 0.5, 0.5 + 0, 1 + 1], 'dmin/db');
  });

  it('Max against a scalar at the tie: max(x, 0) at x = 0 passes ½ (the ReLU written as Max)', async () => {
    const { grads } = await valueAndGradients({ x: { shape: [2, 2], values: [0, 1, -1, 0] } }, (g, v) => g.max(v.x!, g.scalar(0)));
    assertClose(grads.x!, [0.5, 1, 0, 0.5], 'dmax(x, 0)/dx');
  });

  it('documented subgradients at 0: Abs → 0 (sign 0), Relu → 0, Clip at either bound → 0, ReduceMax ties share', async () => {
    // Each is one element of the subdifferential (Abs: [−1, 1], Relu: [0, 1], Clip at a
    // bound: [0, 1]); 0 is the minimum-norm choice, PyTorch's for Abs and Relu.
    const abs = await valueAndGradients({ x: { shape: [3], values: [0, -2, 2] } }, (g, v) => g.abs(v.x!));
    assertClose(abs.grads.x!, [0, -1, 1], 'd|x|/dx');
    const relu = await valueAndGradients({ x: { shape: [3], values: [0, -2, 2] } }, (g, v) => g.relu(v.x!));
    assertClose(relu.grads.x!, [0, 0, 1], 'drelu/dx');
    const clip = await valueAndGradients({ x: { shape: [4], values: [0.8, 1.2, 1, 2] } }, (g, v) => g.clip(v.x!, 0.8, 1.2));
    assertClose(clip.grads.x!, [0, 0, 1, 0], 'dclip/dx');
    const rmax = await valueAndGradients({ x: { shape: [2, 3], values: [1, 3, 3, 2, 2, 2] } }, (g, v) => g.reduceMax(v.x!, [1]));
    assertClose(rmax.grads.x!, [0, 0.5, 0.5, 1 / 3, 1 / 3, 1 / 3], 'dreducemax/dx');
  });
});
