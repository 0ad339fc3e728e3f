// A small typed builder for ONNX graphs (opset 18), the engine's one way to express
// computation. A forward is written once with these ops; `gradients()` (autodiff.ts)
// appends its reverse-mode backward to the same graph, and `serializeModel()` emits the
// bytes that onnxruntime-node runs.
//
// Shapes are tracked statically where they are known, with string symbols ('B', 'T')
// for dimensions fixed only at run time. Ranks are always known. The static shapes serve
// two purposes: catching wiring mistakes at build time (a ShapeError naming the value),
// and telling the gradient of a broadcasting op which axes to sum over — those are the
// axes where the operand has size 1 (or is missing) and the result does not.
//
// Every graph has one floating type (float32 for real runs, float64 for gradient checks);
// `scalar()` and the ops' constants follow it, so the same model code builds both.

import onnxProto from 'onnx-proto';
import { GraphError, ShapeError } from '../errors.js';

const { onnx } = onnxProto;

export type FloatType = 'float32' | 'float64';
export type DType = FloatType | 'int64' | 'int32' | 'bool';
/** A static size, or a symbol for a size known only at run time. */
export type Dim = number | string;
export type Shape = readonly Dim[];

export const OPSET_VERSION = 18;
/** ONNX Runtime's contrib-op domain (FastGelu). */
export const MS_DOMAIN = 'com.microsoft';
export const GELU_SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
export const GELU_CUBIC = 0.044715;

const ONNX_DTYPE: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
};

/**
 * An ONNX attribute with its type stated by the caller (AttributeProto.type): INT vs FLOAT
 * is the op's schema, not something to guess from the value or the attribute's name.
 */
export type Attribute =
  | { readonly type: 'INT'; readonly value: number }
  | { readonly type: 'INTS'; readonly value: readonly number[] }
  | { readonly type: 'FLOAT'; readonly value: number }
  | { readonly type: 'FLOATS'; readonly value: readonly number[] }
  | { readonly type: 'STRING'; readonly value: string }
  | { readonly type: 'TENSOR'; readonly value: ConstantData };
export type AttributeType = Attribute['type'];

function integers(what: string, values: readonly number[]): readonly number[] {
  for (const v of values) if (!Number.isSafeInteger(v)) throw new GraphError(`${what} attribute needs integers, got ${v}`);
  return values;
}

/** Constructors for typed attributes: `{ axis: attr.int(-1), epsilon: attr.float(1e-5) }`. */
export const attr = {
  int: (value: number): Attribute => ({ type: 'INT', value: integers('INT', [value])[0]! }),
  ints: (value: readonly number[]): Attribute => ({ type: 'INTS', value: integers('INTS', value) }),
  float: (value: number): Attribute => ({ type: 'FLOAT', value }),
  floats: (value: readonly number[]): Attribute => ({ type: 'FLOATS', value }),
  string: (value: string): Attribute => ({ type: 'STRING', value }),
  tensor: (value: ConstantData): Attribute => ({ type: 'TENSOR', value }),
};

export interface ConstantData {
  dtype: DType;
  shape: readonly number[];
  values: ArrayLike<number> | BigInt64Array;
}

export class Value {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
  ) {}
  get rank(): number {
    return this.shape.length;
  }
  toString(): string {
    return `${this.name}:${this.dtype}(${this.shape.join(', ')})`;
  }
}

export interface GraphNode {
  readonly op: string;
  readonly inputs: ReadonlyArray<Value | null>;
  readonly outputs: readonly Value[];
  readonly attrs: Readonly<Record<string, Attribute>>;
  readonly domain?: string;
  /**
   * Set on the last node of a composition that autodiff differentiates as ONE op: the
   * rule for `op` goes from this node's output straight to `inputs`, and the inner nodes
   * get no gradient. For functions whose chain rule through the primitives is wrong at a
   * kink or unstable (softplus as max(x, 0) + log(1 + e^−|x|): at x = 0 that chain gives
   * whatever Max and Abs pick at their ties, the true derivative is σ(0) = ½).
   */
  readonly differentiateAs?: { readonly op: string; readonly inputs: readonly Value[] };
}

/** A node's INT attribute; a GraphError names the node if it is missing or of another type. */
export function intAttribute(node: GraphNode, name: string): number {
  const a = node.attrs[name];
  if (a?.type !== 'INT') throw new GraphError(`${node.op} (output ${node.outputs[0]?.name}): needs an INT attribute '${name}', has ${a ? a.type : 'none'}`);
  return a.value;
}

/** A node's INTS attribute; a GraphError names the node if it is missing or of another type. */
export function intsAttribute(node: GraphNode, name: string): readonly number[] {
  const a = node.attrs[name];
  if (a?.type !== 'INTS') throw new GraphError(`${node.op} (output ${node.outputs[0]?.name}): needs an INTS attribute '${name}', has ${a ? a.type : 'none'}`);
  return a.value;
}

export interface Initializer {
  readonly value: Value;
  readonly data: ConstantData;
}

export function shapeToString(shape: Shape): string {
  return `(${shape.join(', ')})`;
}

function isFloat(d: DType): d is FloatType {
  return d === 'float32' || d === 'float64';
}

/** Numpy broadcasting of static shapes; two different symbols are assumed equal. */
export function broadcastShapes(context: string, a: Shape, b: Shape): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)]!;
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)]!;
    if (da === 1) out.push(db);
    else if (db === 1) out.push(da);
    else if (da === db) out.push(da);
    else if (typeof da === 'number' && typeof db === 'number') {
      throw new ShapeError(context, `broadcastable with ${shapeToString(a)}`, shapeToString(b));
    } else out.push(typeof da === 'number' ? da : db);
  }
  return out;
}

function normAxis(axis: number, rank: number, context: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new GraphError(`${context}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

export class Graph {
  readonly nodes: GraphNode[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers: Initializer[] = [];
  private readonly names = new Set<string>();
  private counter = 0;
  private readonly scalarCache = new Map<string, Value>();

  constructor(
    readonly floatType: FloatType = 'float32',
    readonly name = 'outerloop',
  ) {}

  // ---------------------------------------------------------------- values

  private freshName(hint: string): string {
    let name: string;
    do name = `${hint}_${this.counter++}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }

  private claimName(name: string): string {
    if (this.names.has(name)) throw new GraphError(`duplicate value name '${name}'`);
    this.names.add(name);
    return name;
  }

  /** A graph input. Float inputs take the graph's float type unless given. */
  input(name: string, shape: Shape, dtype: DType = this.floatType): Value {
    const v = new Value(this, this.claimName(name), dtype, shape);
    this.inputs.push(v);
    return v;
  }

  /** Marks `v` as a graph output under `name` (an Identity node renames it if needed). */
  output(name: string, v: Value): Value {
    this.check(v);
    let out = v;
    if (v.name !== name) out = this.node('Identity', [v], {}, 1, [v.shape], [v.dtype], [name])[0]!;
    this.outputs.push(out);
    return out;
  }

  /** A named constant tensor stored in the model (weights baked in for inference). */
  initializer(name: string, data: ConstantData): Value {
    const size = data.shape.reduce((a, b) => a * b, 1);
    if (data.values.length !== size) throw new ShapeError(name, `${size} values for ${shapeToString(data.shape)}`, `${data.values.length}`);
    const v = new Value(this, this.claimName(name), data.dtype, data.shape);
    this.initializers.push({ value: v, data });
    return v;
  }

  /** An anonymous constant. */
  constant(values: ArrayLike<number> | BigInt64Array, shape: readonly number[], dtype: DType = this.floatType): Value {
    const size = shape.reduce((a, b) => a * b, 1);
    if (values.length !== size) throw new ShapeError('constant', `${size} values`, `${values.length}`);
    const v = new Value(this, this.freshName('const'), dtype, shape);
    this.initializers.push({ value: v, data: { dtype, shape, values } });
    return v;
  }

  /** A rank-0 constant of the graph's float type (cached: one initializer per value). */
  scalar(x: number, dtype: DType = this.floatType): Value {
    const key = `${dtype}:${Object.is(x, -0) ? '-0' : String(x)}`;
    let v = this.scalarCache.get(key);
    if (!v) {
      v = this.constant(dtype === 'int64' ? BigInt64Array.of(BigInt(x)) : [x], [], dtype);
      this.scalarCache.set(key, v);
    }
    return v;
  }

  /** A 1-D int64 constant (axes, shapes, pads). */
  ints(values: readonly number[]): Value {
    return this.constant(BigInt64Array.from(values.map((x) => BigInt(x))), [values.length], 'int64');
  }

  private check(...vs: Array<Value | null>): void {
    for (const v of vs) if (v && v.graph !== this) throw new GraphError(`value '${v.name}' belongs to another graph`);
  }

  /** Low-level: appends a node. Prefer the typed ops below. */
  node(
    op: string,
    inputs: Array<Value | null>,
    attrs: Record<string, Attribute>,
    outputCount: number,
    shapes: Shape[],
    dtypes: DType[],
    names?: string[],
    domain?: string,
  ): Value[] {
    this.check(...inputs);
    const outputs: Value[] = [];
    for (let i = 0; i < outputCount; i++) {
      const name = names?.[i] ? this.claimName(names[i]!) : this.freshName(op.toLowerCase());
      outputs.push(new Value(this, name, dtypes[i]!, shapes[i]!));
    }
    this.nodes.push({ op, inputs, outputs, attrs, ...(domain ? { domain } : {}) });
    return outputs;
  }

  private unary(op: string, x: Value, attrs: Record<string, Attribute> = {}): Value {
    return this.node(op, [x], attrs, 1, [x.shape], [x.dtype])[0]!;
  }

  private binary(op: string, a: Value, b: Value, outDtype?: DType): Value {
    if (a.dtype !== b.dtype) throw new ShapeError(`${op}(${a.name}, ${b.name})`, `equal dtypes`, `${a.dtype} vs ${b.dtype}`);
    const shape = broadcastShapes(`${op}(${a.name}, ${b.name})`, a.shape, b.shape);
    return this.node(op, [a, b], {}, 1, [shape], [outDtype ?? a.dtype])[0]!;
  }

  // ------------------------------------------------------- elementwise ops

  add(a: Value, b: Value): Value { return this.binary('Add', a, b); }
  sub(a: Value, b: Value): Value { return this.binary('Sub', a, b); }
  mul(a: Value, b: Value): Value { return this.binary('Mul', a, b); }
  div(a: Value, b: Value): Value { return this.binary('Div', a, b); }
  /** Elementwise minimum (gradient goes to the smaller operand; exact ties split it evenly). */
  min(a: Value, b: Value): Value { return this.binary('Min', a, b); }
  /** Elementwise maximum (gradient goes to the larger operand; exact ties split it evenly). */
  max(a: Value, b: Value): Value { return this.binary('Max', a, b); }
  /** x ** p for a constant exponent p (the gradient with respect to p is not needed). */
  pow(x: Value, p: number): Value { return this.binary('Pow', x, this.scalar(p, x.dtype)); }
  exp(x: Value): Value { return this.unary('Exp', x); }
  log(x: Value): Value { return this.unary('Log', x); }
  tanh(x: Value): Value { return this.unary('Tanh', x); }
  erf(x: Value): Value { return this.unary('Erf', x); }
  sqrt(x: Value): Value { return this.unary('Sqrt', x); }
  neg(x: Value): Value { return this.unary('Neg', x); }
  /** |x|; its gradient at 0 is 0 (sign(0), the minimum-norm subgradient in [−1, 1]). */
  abs(x: Value): Value { return this.unary('Abs', x); }
  sigmoid(x: Value): Value { return this.unary('Sigmoid', x); }
  /** max(x, 0); its gradient at 0 is 0 (a subgradient in [0, 1], PyTorch's choice). */
  relu(x: Value): Value { return this.unary('Relu', x); }
  identity(x: Value): Value { return this.unary('Identity', x); }
  /** Clamp to [lo, hi] (constants). Gradient passes where lo < x < hi; at a bound it is 0 (a subgradient in [0, 1]). */
  clip(x: Value, lo: number, hi: number): Value {
    return this.node('Clip', [x, this.scalar(lo, x.dtype), this.scalar(hi, x.dtype)], {}, 1, [x.shape], [x.dtype])[0]!;
  }
  /**
   * softplus(x) = log(1 + eˣ), computed stably as max(x, 0) + log(1 + e^−|x|) (no overflow
   * for large x; ORT's double Softplus kernel returns ∞ at x = 1000). Differentiated as one
   * op: d/dx = σ(x), also at x = 0, where the chain rule through Relu and Abs would not be.
   */
  softplus(x: Value): Value {
    const one = this.scalar(1, x.dtype);
    const y = this.add(this.relu(x), this.log(this.add(one, this.exp(this.neg(this.abs(x))))));
    return this.differentiateAs('Softplus', [x], y);
  }
  /** log σ(x) = −softplus(−x); its gradient is σ(−x) (½ at x = 0, where a Bradley–Terry or DPO loss starts). */
  logSigmoid(x: Value): Value {
    return this.neg(this.softplus(this.neg(x)));
  }

  /**
   * Marks `y`, just built from `inputs` by primitive ops, as one unit that autodiff
   * differentiates with its rule for `op` (see GraphNode.differentiateAs).
   */
  differentiateAs(op: string, inputs: Value[], y: Value): Value {
    const last = this.nodes.length - 1;
    const node = this.nodes[last];
    if (!node || !node.outputs.includes(y)) throw new GraphError(`differentiateAs(${op}): ${y.name} is not the output of the last node`);
    this.nodes[last] = { ...node, differentiateAs: { op, inputs } };
    return y;
  }
  /** where(cond, a, b); cond is bool. No gradient flows to cond. */
  where(cond: Value, a: Value, b: Value): Value {
    if (cond.dtype !== 'bool') throw new ShapeError(`Where(${cond.name})`, 'bool condition', cond.dtype);
    const shape = broadcastShapes('Where', cond.shape, broadcastShapes('Where', a.shape, b.shape));
    return this.node('Where', [cond, a, b], {}, 1, [shape], [a.dtype])[0]!;
  }
  cast(x: Value, to: DType): Value {
    return this.node('Cast', [x], { to: attr.int(ONNX_DTYPE[to]) }, 1, [x.shape], [to])[0]!;
  }
  equal(a: Value, b: Value): Value { return this.binary('Equal', a, b, 'bool'); }
  less(a: Value, b: Value): Value { return this.binary('Less', a, b, 'bool'); }
  greater(a: Value, b: Value): Value { return this.binary('Greater', a, b, 'bool'); }

  // ---------------------------------------------------------------- linear

  /** Numpy matmul with batch broadcasting: (..., M, K) @ (..., K, N) → (..., M, N). */
  matmul(a: Value, b: Value): Value {
    if (a.rank < 2 || b.rank < 2) throw new ShapeError(`MatMul(${a.name}, ${b.name})`, 'rank ≥ 2 operands', `${a.rank}, ${b.rank}`);
    const ka = a.shape[a.rank - 1]!;
    const kb = b.shape[b.rank - 2]!;
    if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb) {
      throw new ShapeError(`MatMul(${a.name}, ${b.name})`, `inner dims equal`, `${ka} vs ${kb}`);
    }
    const batch = broadcastShapes(`MatMul(${a.name}, ${b.name})`, a.shape.slice(0, -2), b.shape.slice(0, -2));
    return this.node('MatMul', [a, b], {}, 1, [[...batch, a.shape[a.rank - 2]!, b.shape[b.rank - 1]!]], [a.dtype])[0]!;
  }

  // ------------------------------------------------------------ reductions

  private reduce(op: string, x: Value, axes: number[], keepdims: boolean): Value {
    const norm = axes.map((a) => normAxis(a, x.rank, op)).sort((p, q) => p - q);
    const shape: Dim[] = [];
    x.shape.forEach((d, i) => {
      if (!norm.includes(i)) shape.push(d);
      else if (keepdims) shape.push(1);
    });
    return this.node(op, [x, this.ints(norm)], { keepdims: attr.int(keepdims ? 1 : 0) }, 1, [shape], [x.dtype])[0]!;
  }
  reduceSum(x: Value, axes: number[], keepdims = false): Value { return this.reduce('ReduceSum', x, axes, keepdims); }
  reduceMean(x: Value, axes: number[], keepdims = false): Value { return this.reduce('ReduceMean', x, axes, keepdims); }
  /** Gradient goes to every position equal to the maximum (ties share it). */
  reduceMax(x: Value, axes: number[], keepdims = false): Value { return this.reduce('ReduceMax', x, axes, keepdims); }
  /** Sum over every axis to a scalar. */
  sumAll(x: Value): Value { return this.reduceSum(x, x.shape.map((_, i) => i), false); }

  /**
   * The k largest entries along `axis`, sorted descending (ties: lower index first, as
   * ONNX TopK specifies): [values, int64 indices]. Inference only (no gradient rule).
   */
  topK(x: Value, k: number, axis = -1): [Value, Value] {
    const a = normAxis(axis, x.rank, 'TopK');
    const d = x.shape[a]!;
    if (typeof d === 'number' && k > d) throw new ShapeError(`TopK(${x.name})`, `k ≤ ${d}`, String(k));
    const shape = x.shape.map((s, i) => (i === a ? k : s));
    const [values, indices] = this.node('TopK', [x, this.ints([k])], { axis: attr.int(a), largest: attr.int(1), sorted: attr.int(1) }, 2, [shape, shape], [x.dtype, 'int64']);
    return [values!, indices!];
  }

  /** Inclusive running sum along `axis`. Inference only (no gradient rule). */
  cumSum(x: Value, axis = -1): Value {
    const a = normAxis(axis, x.rank, 'CumSum');
    return this.node('CumSum', [x, this.ints([a])], {}, 1, [x.shape], [x.dtype])[0]!;
  }

  // --------------------------------------------------------- normalization

  softmax(x: Value, axis = -1): Value { return this.unary('Softmax', x, { axis: attr.int(normAxis(axis, x.rank, 'Softmax')) }); }
  logSoftmax(x: Value, axis = -1): Value { return this.unary('LogSoftmax', x, { axis: attr.int(normAxis(axis, x.rank, 'LogSoftmax')) }); }

  /**
   * LayerNormalization over the last axis. In float32 graphs this is ORT's fused opset-17
   * op, which also emits the mean and inverse standard deviation that its gradient rule
   * reuses. ORT CPU has no double kernel with double statistics (measured: "Could not find
   * an implementation for LayerNormalization(17)" with stash_type=double), so float64
   * graphs compose it from primitives; a test proves the fused rule equals the composed
   * backward in float32, and the composed one is checked against finite differences.
   */
  layerNorm(x: Value, weight: Value, bias: Value, epsilon = 1e-5, fused = x.dtype === 'float32'): Value {
    const C = x.shape[x.rank - 1]!;
    for (const [n, v] of [['weight', weight], ['bias', bias]] as const) {
      if (v.rank !== 1 || (typeof C === 'number' && v.shape[0] !== C)) throw new ShapeError(`LayerNorm ${n} ${v.name}`, `(${C})`, shapeToString(v.shape));
    }
    if (!fused) return this.layerNormComposed(x, weight, bias, epsilon);
    const stats = [...x.shape.slice(0, -1), 1];
    return this.node('LayerNormalization', [x, weight, bias], { axis: attr.int(-1), epsilon: attr.float(epsilon), stash_type: attr.int(1) }, 3, [x.shape, stats, stats], [x.dtype, x.dtype, x.dtype])[0]!;
  }

  /**
   * GELU, tanh approximation (Hendrycks & Gimpel 2016; the form GPT-2 and llm.c use):
   * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). In float32 graphs this is ORT's
   * com.microsoft FastGelu kernel (the same formula, one pass instead of nine elementwise
   * ops) with a hand-written gradient; float64 graphs compose it (FastGelu has no double
   * kernel). A test proves the two agree, forward and backward.
   */
  gelu(x: Value, fused = x.dtype === 'float32'): Value {
    if (!fused) return this.geluComposed(x);
    return this.node('FastGelu', [x], {}, 1, [x.shape], [x.dtype], undefined, MS_DOMAIN)[0]!;
  }

  geluComposed(x: Value): Value {
    const dt = x.dtype;
    const cube = this.mul(x, this.mul(x, x)); // (…)
    const inner = this.mul(this.scalar(GELU_SQRT_2_OVER_PI, dt), this.add(x, this.mul(this.scalar(GELU_CUBIC, dt), cube))); // (…)
    return this.mul(this.mul(this.scalar(0.5, dt), x), this.add(this.scalar(1, dt), this.tanh(inner))); // (…)
  }

  /** LayerNorm from primitives: y = (x − μ) / √(σ² + ε) · w + b over the last axis. */
  layerNormComposed(x: Value, weight: Value, bias: Value, epsilon = 1e-5): Value {
    const mean = this.reduceMean(x, [-1], true); // (…, 1)
    const centered = this.sub(x, mean); // (…, C)
    const variance = this.reduceMean(this.mul(centered, centered), [-1], true); // (…, 1)
    const invStd = this.div(this.scalar(1, x.dtype), this.sqrt(this.add(variance, this.scalar(epsilon, x.dtype)))); // (…, 1)
    return this.add(this.mul(this.mul(centered, invStd), weight), bias); // (…, C)
  }

  // ------------------------------------------------------------- indexing

  /** Gather along `axis` (embedding lookup with axis 0). Indices are int64. */
  gather(data: Value, indices: Value, axis = 0): Value {
    const a = normAxis(axis, data.rank, 'Gather');
    const shape = [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)];
    return this.node('Gather', [data, indices], { axis: attr.int(a) }, 1, [shape], [data.dtype])[0]!;
  }
  /** GatherElements: out[i][j][k] = data[i][j][indices[i][j][k]] for axis 2. */
  gatherElements(data: Value, indices: Value, axis = -1): Value {
    const a = normAxis(axis, data.rank, 'GatherElements');
    if (indices.rank !== data.rank) throw new ShapeError(`GatherElements indices ${indices.name}`, `rank ${data.rank}`, `rank ${indices.rank}`);
    return this.node('GatherElements', [data, indices], { axis: attr.int(a) }, 1, [indices.shape], [data.dtype])[0]!;
  }
  /** ScatterND with reduction add onto `data` (used by Gather's gradient). */
  scatterNDAdd(data: Value, indices: Value, updates: Value): Value {
    return this.node('ScatterND', [data, indices, updates], { reduction: attr.string('add') }, 1, [data.shape], [data.dtype])[0]!;
  }
  /** ScatterElements with reduction add (GatherElements' gradient). */
  scatterElementsAdd(data: Value, indices: Value, updates: Value, axis: number): Value {
    return this.node('ScatterElements', [data, indices, updates], { axis: attr.int(axis), reduction: attr.string('add') }, 1, [data.shape], [data.dtype])[0]!;
  }

  // ---------------------------------------------------------------- shapes

  /** Run-time shape of x as an int64 vector. */
  shapeOf(x: Value, start?: number, end?: number): Value {
    const attrs: Record<string, Attribute> = {};
    if (start !== undefined) attrs.start = attr.int(start);
    if (end !== undefined) attrs.end = attr.int(end);
    const len = (end ?? x.rank) - (start ?? 0);
    return this.node('Shape', [x], attrs, 1, [[len < 0 ? x.rank + len : len]], ['int64'])[0]!;
  }

  /** Zeros with the run-time shape of `like` (float type of `like`). */
  zerosLike(like: Value): Value {
    const zero: ConstantData = { dtype: like.dtype, shape: [1], values: like.dtype === 'int64' ? BigInt64Array.of(0n) : [0] };
    return this.node('ConstantOfShape', [this.shapeOf(like)], { value: attr.tensor(zero) }, 1, [like.shape], [like.dtype])[0]!;
  }

  transpose(x: Value, perm: number[]): Value {
    if (perm.length !== x.rank) throw new ShapeError(`Transpose(${x.name})`, `perm of length ${x.rank}`, `${perm.length}`);
    return this.node('Transpose', [x], { perm: attr.ints(perm) }, 1, [perm.map((p) => x.shape[p]!)], [x.dtype])[0]!;
  }

  /**
   * Reshape with ONNX semantics: 0 copies the input dim at that position, -1 is inferred.
   * `shape` may also be a run-time int64 vector with a declared static result shape.
   */
  reshape(x: Value, shape: readonly number[] | Value, resultShape?: Shape): Value {
    let out: Dim[];
    let shapeValue: Value;
    if (shape instanceof Value) {
      if (!resultShape) throw new GraphError(`Reshape(${x.name}) with a run-time shape needs a declared result shape`);
      out = [...resultShape];
      shapeValue = shape;
    } else {
      out = shape.map((d, i) => (d === 0 ? x.shape[i]! : d));
      const inferred = out.indexOf(-1);
      if (inferred >= 0) {
        const known = out.filter((_, i) => i !== inferred);
        const allStatic = x.shape.every((d) => typeof d === 'number') && known.every((d) => typeof d === 'number');
        if (allStatic) {
          const total = (x.shape as number[]).reduce((a, b) => a * b, 1);
          out[inferred] = total / (known as number[]).reduce((a, b) => a * b, 1);
        } else {
          // Symbolic: the product of the input dims not matched by a kept output dim.
          const rest = x.shape.filter((d) => !known.includes(d));
          out[inferred] = rest.length === 1 ? rest[0]! : rest.join('*');
        }
      }
      shapeValue = this.ints(shape as number[]);
    }
    return this.node('Reshape', [x, shapeValue], {}, 1, [out], [x.dtype])[0]!;
  }

  unsqueeze(x: Value, axes: number[]): Value {
    const outRank = x.rank + axes.length;
    const norm = axes.map((a) => normAxis(a, outRank, 'Unsqueeze')).sort((p, q) => p - q);
    const shape: Dim[] = [];
    let j = 0;
    for (let i = 0; i < outRank; i++) shape.push(norm.includes(i) ? 1 : x.shape[j++]!);
    return this.node('Unsqueeze', [x, this.ints(norm)], {}, 1, [shape], [x.dtype])[0]!;
  }

  squeeze(x: Value, axes: number[]): Value {
    const norm = axes.map((a) => normAxis(a, x.rank, 'Squeeze'));
    for (const a of norm) if (x.shape[a] !== 1 && typeof x.shape[a] === 'number') throw new ShapeError(`Squeeze(${x.name})`, `size 1 on axis ${a}`, shapeToString(x.shape));
    return this.node('Squeeze', [x, this.ints(norm)], {}, 1, [x.shape.filter((_, i) => !norm.includes(i))], [x.dtype])[0]!;
  }

  concat(xs: Value[], axis: number): Value {
    const a = normAxis(axis, xs[0]!.rank, 'Concat');
    const sizes = xs.map((x) => x.shape[a]!);
    const total: Dim = sizes.every((s) => typeof s === 'number') ? (sizes as number[]).reduce((p, q) => p + q, 0) : sizes.join('+');
    const shape = xs[0]!.shape.map((d, i) => (i === a ? total : d));
    return this.node('Concat', xs, { axis: attr.int(a) }, 1, [shape], [xs[0]!.dtype])[0]!;
  }

  /** Split along `axis` into parts of the given static sizes. */
  split(x: Value, axis: number, sizes: number[]): Value[] {
    const a = normAxis(axis, x.rank, 'Split');
    const d = x.shape[a]!;
    const total = sizes.reduce((p, q) => p + q, 0);
    if (typeof d === 'number' && d !== total) throw new ShapeError(`Split(${x.name})`, `axis ${a} of size ${total}`, shapeToString(x.shape));
    const shapes = sizes.map((s) => x.shape.map((dim, i) => (i === a ? s : dim)));
    return this.node('Split', [x, this.ints(sizes)], { axis: attr.int(a) }, sizes.length, shapes, sizes.map(() => x.dtype));
  }

  /** Static slice [start, end) along one axis (end may exceed the size; clamped). */
  slice(x: Value, axis: number, start: number, end: number): Value {
    const a = normAxis(axis, x.rank, 'Slice');
    const d = x.shape[a]!;
    const size: Dim = typeof d === 'number' ? Math.max(0, Math.min(end, d) - Math.min(start, d)) : `${d}[${start}:${end}]`;
    return this.node('Slice', [x, this.ints([start]), this.ints([end]), this.ints([a])], {}, 1, [x.shape.map((s, i) => (i === a ? size : s))], [x.dtype])[0]!;
  }

  /** Slice with run-time starts/ends (int64 vectors) over the given axes; result shape declared. */
  sliceDynamic(x: Value, starts: Value, ends: Value, axes: number[], resultShape: Shape): Value {
    return this.node('Slice', [x, starts, ends, this.ints(axes)], {}, 1, [resultShape], [x.dtype])[0]!;
  }

  /** Pad with zeros: pads = [begin_0, …, begin_{r-1}, end_0, …, end_{r-1}] (static or run-time). */
  padZeros(x: Value, pads: readonly number[] | Value, resultShape: Shape): Value {
    const p = pads instanceof Value ? pads : this.ints(pads as number[]);
    return this.node('Pad', [x, p], { mode: attr.string('constant') }, 1, [resultShape], [x.dtype])[0]!;
  }

  /** Broadcast to `shape` (static) or a run-time int64 vector with a declared result shape. */
  expand(x: Value, shape: readonly number[] | Value, resultShape?: Shape): Value {
    if (shape instanceof Value) {
      if (!resultShape) throw new GraphError(`Expand(${x.name}) with a run-time shape needs a declared result shape`);
      return this.node('Expand', [x, shape], {}, 1, [resultShape], [x.dtype])[0]!;
    }
    const out = broadcastShapes(`Expand(${x.name})`, x.shape, shape);
    return this.node('Expand', [x, this.ints(shape as number[])], {}, 1, [out], [x.dtype])[0]!;
  }

  /** int64 [start, limit) with step 1; limit may be a run-time scalar. */
  range(start: Value, limit: Value, size: Dim): Value {
    return this.node('Range', [start, limit, this.scalar(1, 'int64')], {}, 1, [[size]], ['int64'])[0]!;
  }

  // -------------------------------------------------------- serialization

  /** The ONNX ModelProto for this graph. */
  toModelProto(docString = ''): onnxProto.onnx.ModelProto {
    const valueInfo = (v: Value): onnxProto.onnx.IValueInfoProto => ({
      name: v.name,
      type: {
        tensorType: {
          elemType: ONNX_DTYPE[v.dtype],
          shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
        },
      },
    });
    const graph: onnxProto.onnx.IGraphProto = {
      name: this.name,
      input: this.inputs.map(valueInfo),
      output: this.outputs.map(valueInfo),
      initializer: this.initializers.map((i) => tensorProto(i.value.name, i.data)),
      node: this.nodes.map((n, idx) => ({
        name: `${n.op}_${idx}`,
        opType: n.op,
        ...(n.domain ? { domain: n.domain } : {}),
        input: n.inputs.map((v) => (v ? v.name : '')),
        output: n.outputs.map((v) => v.name),
        attribute: Object.entries(n.attrs).map(([name, value]) => attributeProto(name, value)),
      })),
    };
    return onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [
        { domain: '', version: OPSET_VERSION },
        ...(this.nodes.some((n) => n.domain === MS_DOMAIN) ? [{ domain: MS_DOMAIN, version: 1 }] : []),
      ],
      producerName: 'outerloop-engine',
      docString,
      graph,
    });
  }

  /** Serialized model bytes, ready for `ort.InferenceSession.create(bytes)` or an `.onnx` file. */
  serialize(docString = ''): Uint8Array {
    return onnx.ModelProto.encode(this.toModelProto(docString)).finish();
  }
}

function tensorProto(name: string, data: ConstantData): onnxProto.onnx.ITensorProto {
  let raw: Uint8Array;
  const v = data.values;
  switch (data.dtype) {
    case 'float32': {
      const f = v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
      raw = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
      break;
    }
    case 'float64': {
      const f = v instanceof Float64Array ? v : Float64Array.from(v as ArrayLike<number>);
      raw = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
      break;
    }
    case 'int64': {
      const f = v instanceof BigInt64Array ? v : BigInt64Array.from(Array.from(v as ArrayLike<number>, (x) => BigInt(x)));
      raw = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
      break;
    }
    case 'int32': {
      const f = v instanceof Int32Array ? v : Int32Array.from(v as ArrayLike<number>);
      raw = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
      break;
    }
    case 'bool':
      raw = Uint8Array.from(v as ArrayLike<number>, (x) => (x ? 1 : 0));
      break;
  }
  return { name, dims: [...data.shape], dataType: ONNX_DTYPE[data.dtype], rawData: raw };
}

function attributeProto(name: string, a: Attribute): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case 'INT': return { name, type: T.INT, i: a.value };
    case 'INTS': return { name, type: T.INTS, ints: [...a.value] };
    case 'FLOAT': return { name, type: T.FLOAT, f: a.value };
    case 'FLOATS': return { name, type: T.FLOATS, floats: [...a.value] };
    case 'STRING': return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
    case 'TENSOR': return { name, type: T.TENSOR, t: tensorProto('', a.value) };
  }
}

export { isFloat };

/** Protobuf bytes of a ModelProto (e.g. one with metadata added after toModelProto()). */
export function encodeModel(proto: onnxProto.onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(proto).finish();
}
