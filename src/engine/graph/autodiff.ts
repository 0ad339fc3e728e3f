// Reverse-mode automatic differentiation over a Graph (Griewank & Walther, "Evaluating
// Derivatives", ch. 3): walk the nodes in reverse topological order — the builder appends
// nodes in a valid order, so that is the reverse of `graph.nodes` — and for every node
// whose outputs carry an upstream gradient, apply its vector-Jacobian product (VJP) rule
// to get the gradients of its inputs, summing where a value is used more than once.
//
// The backward is appended to the SAME graph, so it reuses forward intermediates (the
// softmax output, LayerNorm statistics, …) exactly like a hand-written backward would.
// Every rule below is checked against central finite differences on float64 graphs in
// tests/unit/engine/graph/autodiff.test.ts.

import { GraphError, ShapeError } from '../errors.js';
import { GELU_CUBIC, GELU_SQRT_2_OVER_PI, Graph, GraphNode, Shape, Value, attr, intAttribute, intsAttribute, isFloat, shapeToString } from './builder.js';

type VjpRule = (g: Graph, node: GraphNode, gy: ReadonlyArray<Value | null>) => Array<Value | null>;

/**
 * Sums a broadcast gradient back to an operand's shape: leading axes the operand lacks
 * are summed away, axes where the operand has size 1 are summed with keepdims.
 */
export function sumToShape(g: Graph, grad: Value, target: Shape): Value {
  let r = grad;
  const extra = grad.rank - target.length;
  if (extra < 0) throw new ShapeError(`gradient ${grad.name}`, `rank ≥ ${target.length}`, shapeToString(grad.shape));
  if (extra > 0) r = g.reduceSum(r, Array.from({ length: extra }, (_, i) => i), false);
  const axes: number[] = [];
  target.forEach((d, i) => {
    if (d === 1 && r.shape[i] !== 1) axes.push(i);
  });
  if (axes.length > 0) r = g.reduceSum(r, axes, true);
  return r;
}

/** Values of a constant (initializer) input, for rules that need e.g. Pow's exponent or Slice's bounds. */
function constantValues(g: Graph, v: Value | null, context: string): number[] {
  const init = v && g.initializers.find((i) => i.value === v);
  if (!init) throw new GraphError(`${context}: gradient needs a constant operand, '${v?.name}' is computed at run time`);
  return Array.from(init.data.values as ArrayLike<number | bigint>, (x) => Number(x));
}

function input(node: GraphNode, i: number): Value {
  const v = node.inputs[i];
  if (!v) throw new GraphError(`${node.op}: missing input ${i}`);
  return v;
}

/** Broadcast `gy` (reduced over `axes`, keepdims or not) back to the shape of x. */
function broadcastBack(g: Graph, gy: Value, x: Value, axes: number[], keepdims: boolean): Value {
  const kept = keepdims ? gy : g.unsqueeze(gy, axes);
  return g.expand(kept, g.shapeOf(x), x.shape);
}

/** Number of elements reduced over `axes` of x, as a scalar of x's float type. */
function reducedCount(g: Graph, x: Value, axes: number[]): Value {
  const dims = axes.map((a) => x.shape[a]!);
  if (dims.every((d) => typeof d === 'number')) return g.scalar((dims as number[]).reduce((p, q) => p * q, 1), x.dtype);
  const sizes = g.gather(g.shapeOf(x), g.ints(axes), 0); // (len(axes)) int64
  const count = g.node('ReduceProd', [sizes, g.ints([0])], { keepdims: attr.int(0) }, 1, [[]], ['int64'])[0]!;
  return g.cast(count, x.dtype);
}

function and(g: Graph, a: Value, b: Value): Value {
  return g.node('And', [a, b], {}, 1, [a.shape], ['bool'])[0]!;
}

/**
 * Min/Max: the operand that wins takes the gradient; at an exact tie each takes half
 * (`aWins` is strict). The even split is the midpoint of the subdifferential and keeps
 * d min(x, x)/dx = 1; sending all of it to one side doubled the gradient of the old
 * composed log-sigmoid at 0 (min(x, 0) took 1 where the true derivative is ½).
 */
function minMaxGradients(g: Graph, n: GraphNode, gy: Value, aWins: Value): Value[] {
  const a = input(n, 0), b = input(n, 1);
  const dt = a.dtype;
  const aShare = g.add(g.cast(aWins, dt), g.mul(g.scalar(0.5, dt), g.cast(g.equal(a, b), dt))); // 1, ½ or 0, broadcast shape
  const ga = g.mul(gy, aShare);
  return [sumToShape(g, ga, a.shape), sumToShape(g, g.sub(gy, ga), b.shape)];
}

const RULES: Record<string, VjpRule> = {
  Identity: (_g, _n, [gy]) => [gy!],
  Add: (g, n, [gy]) => [sumToShape(g, gy!, input(n, 0).shape), sumToShape(g, gy!, input(n, 1).shape)],
  Sub: (g, n, [gy]) => [sumToShape(g, gy!, input(n, 0).shape), sumToShape(g, g.neg(gy!), input(n, 1).shape)],
  Mul: (g, n, [gy]) => {
    const a = input(n, 0), b = input(n, 1);
    return [sumToShape(g, g.mul(gy!, b), a.shape), sumToShape(g, g.mul(gy!, a), b.shape)];
  },
  Div: (g, n, [gy]) => {
    const a = input(n, 0), b = input(n, 1), y = n.outputs[0]!;
    const ga = g.div(gy!, b); // ∂(a/b)/∂a = 1/b
    const gb = g.neg(g.div(g.mul(gy!, y), b)); // ∂(a/b)/∂b = -a/b² = -y/b
    return [sumToShape(g, ga, a.shape), sumToShape(g, gb, b.shape)];
  },
  Pow: (g, n, [gy]) => {
    const x = input(n, 0);
    const [p] = constantValues(g, n.inputs[1]!, 'Pow exponent');
    // d/dx x^p = p x^(p-1); no gradient to the constant exponent.
    const d = p === 2 ? g.mul(g.scalar(2, x.dtype), x) : g.mul(g.scalar(p!, x.dtype), g.pow(x, p! - 1));
    return [sumToShape(g, g.mul(gy!, d), x.shape), null];
  },
  Exp: (g, n, [gy]) => [g.mul(gy!, n.outputs[0]!)],
  Log: (g, n, [gy]) => [g.div(gy!, input(n, 0))],
  Tanh: (g, n, [gy]) => {
    const y = n.outputs[0]!;
    return [g.mul(gy!, g.sub(g.scalar(1, y.dtype), g.mul(y, y)))];
  },
  Erf: (g, n, [gy]) => {
    const x = input(n, 0);
    // d/dx erf(x) = 2/√π · exp(−x²)
    return [g.mul(gy!, g.mul(g.scalar(2 / Math.sqrt(Math.PI), x.dtype), g.exp(g.neg(g.mul(x, x)))))];
  },
  FastGelu: (g, n, [gy]) => {
    const x = input(n, 0);
    const dt = x.dtype;
    const s = GELU_SQRT_2_OVER_PI, c = GELU_CUBIC;
    // gelu(x) = ½x(1 + tanh u), u = s(x + c x³):
    // gelu'(x) = ½(1 + tanh u) + x·(1 − tanh² u)·(½s + (3/2)cs·x²)
    const x2 = g.mul(x, x);
    const t = g.tanh(g.mul(g.scalar(s, dt), g.add(x, g.mul(g.scalar(c, dt), g.mul(x2, x)))));
    const half1pt = g.mul(g.scalar(0.5, dt), g.add(g.scalar(1, dt), t));
    const sech2 = g.sub(g.scalar(1, dt), g.mul(t, t));
    const du = g.add(g.scalar(0.5 * s, dt), g.mul(g.scalar(1.5 * c * s, dt), x2));
    return [g.mul(gy!, g.add(half1pt, g.mul(g.mul(x, sech2), du)))];
  },
  Sqrt: (g, n, [gy]) => {
    const y = n.outputs[0]!;
    return [g.div(g.mul(gy!, g.scalar(0.5, y.dtype)), y)];
  },
  Neg: (g, _n, [gy]) => [g.neg(gy!)],
  Abs: (g, n, [gy]) => {
    const x = input(n, 0);
    return [g.mul(gy!, g.node('Sign', [x], {}, 1, [x.shape], [x.dtype])[0]!)];
  },
  // Graph.softplus marks its stable composition with this rule: d/dx log(1 + eˣ) = σ(x).
  Softplus: (g, n, [gy]) => [g.mul(gy!, g.sigmoid(input(n, 0)))],
  Sigmoid: (g, n, [gy]) => {
    const y = n.outputs[0]!;
    return [g.mul(gy!, g.mul(y, g.sub(g.scalar(1, y.dtype), y)))];
  },
  Relu: (g, n, [gy]) => {
    const x = input(n, 0);
    const zero = g.scalar(0, x.dtype);
    return [g.where(g.greater(x, zero), gy!, zero)];
  },
  Clip: (g, n, [gy]) => {
    const x = input(n, 0);
    const inside = and(g, g.greater(x, input(n, 1)), g.less(x, input(n, 2)));
    return [g.where(inside, gy!, g.scalar(0, x.dtype)), null, null];
  },
  Min: (g, n, [gy]) => minMaxGradients(g, n, gy!, g.less(input(n, 0), input(n, 1))),
  Max: (g, n, [gy]) => minMaxGradients(g, n, gy!, g.greater(input(n, 0), input(n, 1))),
  Where: (g, n, [gy]) => {
    const c = input(n, 0), a = input(n, 1), b = input(n, 2);
    const zero = g.scalar(0, a.dtype);
    return [null, sumToShape(g, g.where(c, gy!, zero), a.shape), sumToShape(g, g.where(c, zero, gy!), b.shape)];
  },
  Cast: (g, n, [gy]) => {
    const x = input(n, 0);
    return [isFloat(x.dtype) ? g.cast(gy!, x.dtype) : null];
  },
  MatMul: (g, n, [gy]) => {
    const a = input(n, 0), b = input(n, 1);
    const swapLast = (v: Value): Value => g.transpose(v, [...v.shape.keys()].map((i) => (i === v.rank - 2 ? v.rank - 1 : i === v.rank - 1 ? v.rank - 2 : i)));
    const ga = sumToShape(g, g.matmul(gy!, swapLast(b)), a.shape); // (…, M, N) @ (…, N, K)
    let gb: Value;
    if (b.rank === 2 && a.rank > 2) {
      // A weight shared over the batch: fold the batch into rows so the reduction is
      // one (K, B·M) @ (B·M, N) matmul, not a batched matmul then a sum.
      const K = a.shape[a.rank - 1]!, N = b.shape[1]!;
      if (typeof K !== 'number' || typeof N !== 'number') throw new GraphError(`MatMul gradient: weight ${b.name} needs static dims`);
      gb = g.matmul(g.transpose(g.reshape(a, [-1, K]), [1, 0]), g.reshape(gy!, [-1, N]));
    } else {
      gb = sumToShape(g, g.matmul(swapLast(a), gy!), b.shape);
    }
    return [ga, gb];
  },
  ReduceSum: (g, n, [gy]) => {
    const x = input(n, 0);
    const axes = constantValues(g, n.inputs[1]!, 'ReduceSum axes');
    return [broadcastBack(g, gy!, x, axes, intAttribute(n, 'keepdims') === 1), null];
  },
  ReduceMean: (g, n, [gy]) => {
    const x = input(n, 0);
    const axes = constantValues(g, n.inputs[1]!, 'ReduceMean axes');
    const scaled = g.div(gy!, reducedCount(g, x, axes));
    return [broadcastBack(g, scaled, x, axes, intAttribute(n, 'keepdims') === 1), null];
  },
  ReduceMax: (g, n, [gy]) => {
    const x = input(n, 0);
    const axes = constantValues(g, n.inputs[1]!, 'ReduceMax axes');
    const keep = intAttribute(n, 'keepdims') === 1;
    const y = n.outputs[0]!;
    const yk = keep ? y : g.unsqueeze(y, axes);
    const gk = keep ? gy! : g.unsqueeze(gy!, axes);
    // Ties share the gradient equally (the subgradient that keeps the sum right).
    const isMax = g.cast(g.equal(x, yk), x.dtype);
    const ties = g.reduceSum(isMax, axes, true);
    return [g.mul(isMax, g.div(gk, ties)), null];
  },
  Softmax: (g, n, [gy]) => {
    const y = n.outputs[0]!;
    const axis = intAttribute(n, 'axis');
    // dx = y ⊙ (gy − Σ gy⊙y)
    return [g.mul(y, g.sub(gy!, g.reduceSum(g.mul(gy!, y), [axis], true)))];
  },
  LogSoftmax: (g, n, [gy]) => {
    const y = n.outputs[0]!;
    const axis = intAttribute(n, 'axis');
    // dx = gy − softmax(x) Σ gy, with softmax(x) = exp(y)
    return [g.sub(gy!, g.mul(g.exp(y), g.reduceSum(gy!, [axis], true)))];
  },
  LayerNormalization: (g, n, gys) => {
    const [gy, gMean, gInv] = gys;
    if (gMean || gInv) throw new GraphError('LayerNormalization: gradients through its Mean/InvStdDev outputs are not supported');
    const x = input(n, 0), w = input(n, 1);
    const [, mean, invStd] = n.outputs as [Value, Value, Value];
    const lead = Array.from({ length: x.rank - 1 }, (_, i) => i);
    // xhat = (x − μ)·σ⁻¹;  dx = σ⁻¹ (dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)), dxhat = gy·w
    // (the standard LayerNorm backward, as in llm.c layernorm_backward).
    const xhat = g.mul(g.sub(x, mean), invStd); // (…, C)
    const dxhat = g.mul(gy!, w); // (…, C)
    const dx = g.mul(
      invStd,
      g.sub(g.sub(dxhat, g.reduceMean(dxhat, [-1], true)), g.mul(xhat, g.reduceMean(g.mul(dxhat, xhat), [-1], true))),
    );
    const dw = g.reduceSum(g.mul(gy!, xhat), lead, false); // (C)
    const db = g.reduceSum(gy!, lead, false); // (C)
    return [dx, dw, db];
  },
  Gather: (g, n, [gy]) => {
    const data = input(n, 0), idx = input(n, 1);
    if (intAttribute(n, 'axis') !== 0) throw new GraphError('Gather gradient is implemented for axis 0 (embedding lookups)');
    // Scatter-add the rows back: repeated ids accumulate (ScatterND reduction 'add', opset 16).
    return [g.scatterNDAdd(g.zerosLike(data), g.unsqueeze(idx, [-1]), gy!), null];
  },
  GatherElements: (g, n, [gy]) => {
    const data = input(n, 0), idx = input(n, 1);
    return [g.scatterElementsAdd(g.zerosLike(data), idx, gy!, intAttribute(n, 'axis')), null];
  },
  Transpose: (g, n, [gy]) => {
    const perm = intsAttribute(n, 'perm');
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    return [g.transpose(gy!, inverse)];
  },
  Reshape: (g, n, [gy]) => {
    const x = input(n, 0);
    return [g.reshape(gy!, g.shapeOf(x), x.shape), null];
  },
  Unsqueeze: (g, n, [gy]) => [g.reshape(gy!, g.shapeOf(input(n, 0)), input(n, 0).shape), null],
  Squeeze: (g, n, [gy]) => [g.reshape(gy!, g.shapeOf(input(n, 0)), input(n, 0).shape), null],
  Expand: (g, n, [gy]) => [sumToShape(g, gy!, input(n, 0).shape), null],
  Concat: (g, n, [gy]) => {
    const axis = intAttribute(n, 'axis');
    let offset = 0;
    return n.inputs.map((v) => {
      const size = v!.shape[axis]!;
      if (typeof size !== 'number') throw new GraphError(`Concat gradient: input ${v!.name} needs a static size on axis ${axis}`);
      const part = g.slice(gy!, axis, offset, offset + size);
      offset += size;
      return part;
    });
  },
  Split: (g, n, gys) => {
    const axis = intAttribute(n, 'axis');
    // Parts without an upstream gradient contribute zeros of their own shape.
    const parts = n.outputs.map((o, i) => gys[i] ?? g.zerosLike(o));
    return [g.concat(parts, axis), null];
  },
  Slice: (g, n, [gy]) => {
    const x = input(n, 0);
    const [start] = constantValues(g, n.inputs[1]!, 'Slice starts');
    const [end] = constantValues(g, n.inputs[2]!, 'Slice ends');
    const [axis] = constantValues(g, n.inputs[3]!, 'Slice axes');
    const d = x.shape[axis!]!;
    if (typeof d !== 'number') throw new GraphError(`Slice gradient: ${x.name} needs a static size on axis ${axis}`);
    const s = Math.min(start!, d), e = Math.min(end!, d);
    const pads = new Array<number>(2 * x.rank).fill(0);
    pads[axis!] = s;
    pads[x.rank + axis!] = d - e;
    return [g.padZeros(gy!, pads, x.shape), null, null, null];
  },
};

/** Ops through which no gradient flows (integer / boolean / shape computations). */
const NON_DIFFERENTIABLE = new Set(['Shape', 'Equal', 'Less', 'Greater', 'And', 'Not', 'Range', 'ConstantOfShape', 'Sign', 'ReduceProd']);

export function hasGradientRule(op: string): boolean {
  return op in RULES;
}

/** Ones with the (static or run-time) shape of y, for seeding d y / d y. */
function onesLike(g: Graph, y: Value): Value {
  if (y.shape.every((d) => typeof d === 'number')) {
    const shape = y.shape as number[];
    return g.constant(new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(1), shape, y.dtype);
  }
  return g.expand(g.scalar(1, y.dtype), g.shapeOf(y), y.shape);
}

/**
 * Appends the backward of `ys` to the graph and returns d(Σ seedᵢ·yᵢ)/d wrtⱼ for every
 * `wrt`. A missing seed means ones (so a scalar loss needs none). Values in `wrt` that
 * do not influence `ys` get zeros of their shape.
 */
export function gradients(g: Graph, ys: Value[], wrt: Value[], seeds?: Array<Value | undefined>): Value[] {
  // Values that depend on some wrt: only these need gradients.
  const needs = new Set<Value>(wrt);
  for (const node of g.nodes) {
    if (NON_DIFFERENTIABLE.has(node.op)) continue;
    if (node.inputs.some((v) => v && needs.has(v))) for (const o of node.outputs) if (isFloat(o.dtype)) needs.add(o);
  }

  const grads = new Map<Value, Value>();
  const accumulate = (v: Value, gv: Value): void => {
    const prev = grads.get(v);
    grads.set(v, prev ? g.add(prev, gv) : gv);
  };
  ys.forEach((y, i) => {
    const seed = seeds?.[i] ?? onesLike(g, y);
    if (seed.rank !== y.rank) throw new ShapeError(`seed for ${y.name}`, shapeToString(y.shape), shapeToString(seed.shape));
    accumulate(y, seed);
  });

  const forwardNodes = g.nodes.slice(); // the backward appends nodes; walk only the forward
  for (let k = forwardNodes.length - 1; k >= 0; k--) {
    const forward = forwardNodes[k]!;
    const gy = forward.outputs.map((o) => grads.get(o) ?? null);
    if (gy.every((x) => x === null)) continue;
    // A composition differentiated as one op: its rule maps straight to the composition's inputs.
    const node: GraphNode = forward.differentiateAs ? { ...forward, op: forward.differentiateAs.op, inputs: forward.differentiateAs.inputs, attrs: {} } : forward;
    if (!node.inputs.some((v) => v && needs.has(v))) continue;
    const rule = RULES[node.op];
    if (!rule) {
      if (NON_DIFFERENTIABLE.has(node.op)) continue;
      throw new GraphError(`no gradient rule for op ${node.op} (output ${node.outputs[0]?.name})`);
    }
    const gx = rule(g, node, gy);
    node.inputs.forEach((v, i) => {
      const gi = gx[i];
      if (v && gi && needs.has(v)) accumulate(v, gi);
    });
  }
  return wrt.map((w) => grads.get(w) ?? g.zerosLike(w));
}
