// Graph-level rewrites of a finished graph (forward + the backward autodiff appended),
// applied before it is serialized for ORT. Each one removes work that ORT's own
// optimizer leaves in a training graph (measured with ORT's profiler on the reference
// config, SFT, 2×256; tests/bench/engine-train.ts compares the step with and without):
//
//  deadNodes     autodiff's rules build the gradient of every operand of a node, also of
//                operands that need none (the causal mask, the 1/√HS scale); ORT runs
//                those nodes anyway: 16 nodes per SFT step, among them a (B, NH, T, T) →
//                (T, T) ReduceSum per layer.
//  linearGemm    x @ W + b with x (…, K) and a rank-1 bias b becomes one Gemm over the
//                rows (…, K) → (rows, K): the bias is added inside the GEMM instead of by a
//                separate pass over the (…, N) result, and the GEMM sees all rows at once.
//  oneHotScatter the gradient of the target-token pick (GatherElements with one index per
//                row) scatter-adds into zeros of (B, T, V); `where(iota == index, g, 0)`
//                writes the same tensor in one pass, without the zero fill and the copy.
//
// Every rewrite keeps the values that other nodes read (the rewritten pattern's final
// output keeps its Value), so consumers need no renaming; graphs stay topologically
// ordered. A rewritten graph is final: build nothing on it afterwards.

import { GraphError } from '../errors.js';
import { Graph, GraphNode, Value, intAttribute } from './builder.js';

export interface GraphPassOptions {
  deadNodes?: boolean;
  linearGemm?: boolean;
  oneHotScatter?: boolean;
}

/** Nodes removed or rewritten by each pass. */
export type GraphPassReport = Record<keyof GraphPassOptions, number>;

/** Applies the passes (all by default) in place; returns what each one changed. */
export function optimizeTrainingGraph(g: Graph, opts: GraphPassOptions = {}): GraphPassReport {
  const report: GraphPassReport = { deadNodes: 0, linearGemm: 0, oneHotScatter: 0 };
  if (opts.linearGemm ?? true) report.linearGemm = fuseLinearIntoGemm(g);
  if (opts.oneHotScatter ?? true) report.oneHotScatter = scatterAddAsOneHot(g);
  // Last: the rewrites above leave their replaced producers (zero fills, shapes) dead.
  if (opts.deadNodes ?? true) report.deadNodes = eliminateDeadNodes(g);
  return report;
}

/** Removes every node none of whose outputs reaches a graph output. Returns the count. */
export function eliminateDeadNodes(g: Graph): number {
  const live = new Set<Value>(g.outputs);
  const kept: GraphNode[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const node = g.nodes[i]!;
    if (!node.outputs.some((o) => live.has(o))) continue;
    for (const v of node.inputs) if (v) live.add(v);
    kept.push(node);
  }
  const removed = g.nodes.length - kept.length;
  g.nodes.splice(0, g.nodes.length, ...kept.reverse());
  return removed;
}

function consumers(g: Graph): Map<Value, GraphNode[]> {
  const m = new Map<Value, GraphNode[]>();
  for (const n of g.nodes) {
    for (const v of n.inputs) {
      if (!v) continue;
      const list = m.get(v);
      if (list) list.push(n);
      else m.set(v, [n]);
    }
  }
  return m;
}

/** Values available before any node runs: graph inputs and initializers. */
function sources(g: Graph): Set<Value> {
  return new Set([...g.inputs, ...g.initializers.map((i) => i.value)]);
}

/**
 * Replaces the node at `index` by the nodes `build` appends (moved to `index`), in one
 * splice. `build` must make its last node produce the replaced node's output Value.
 */
function replaceAt(g: Graph, index: number, build: () => void): void {
  const before = g.nodes.length;
  build();
  const added = g.nodes.splice(before);
  g.nodes.splice(index, 1, ...added);
}

/** MatMul(x (…, K), W (K, N)) → Add(·, b (N)) with W, b graph inputs or constants, x of rank ≥ 3. */
export function fuseLinearIntoGemm(g: Graph): number {
  const readers = consumers(g);
  const available = sources(g);
  const outputs = new Set(g.outputs);
  let fused = 0;
  for (let i = 0; i < g.nodes.length; i++) {
    const mm = g.nodes[i]!;
    if (mm.op !== 'MatMul' || mm.domain) continue;
    const [x, w] = mm.inputs as [Value, Value];
    const y = mm.outputs[0]!;
    const K = x.shape[x.rank - 1], N = w.shape[1];
    if (x.rank < 3 || w.rank !== 2 || typeof K !== 'number' || typeof N !== 'number' || !available.has(w) || outputs.has(y)) continue;
    const users = readers.get(y) ?? [];
    const add = users[0];
    if (users.length !== 1 || add!.op !== 'Add') continue;
    const bias = add!.inputs[0] === y ? add!.inputs[1]! : add!.inputs[0]!;
    if (bias.rank !== 1 || bias.shape[0] !== N || !available.has(bias)) continue;
    const out = add!.outputs[0]!; // keeps its Value: the Add's readers are untouched
    if (out.rank !== x.rank) continue;
    replaceAt(g, i, () => {
      const rows = g.reshape(x, [-1, K]); // (rows, K)
      const y2 = g.node('Gemm', [rows, w, bias], {}, 1, [[rows.shape[0]!, N]], [x.dtype])[0]!; // (rows, N)
      const lead = g.shapeOf(x, 0, x.rank - 1); // (rank − 1) int64
      const shape = g.concat([lead, g.ints([N])], 0); // (rank) int64
      g.nodes.push({ op: 'Reshape', inputs: [y2, shape], outputs: [out], attrs: {} }); // (…, N)
    });
    g.nodes.splice(g.nodes.indexOf(add!), 1);
    fused++;
  }
  return fused;
}

/**
 * ScatterElements(zeros, index, updates, reduction add) where the index has size 1 on
 * the scatter axis and the full size on every other axis (one entry per row, e.g. the
 * picked target token) → Where(index == iota, updates, 0).
 */
export function scatterAddAsOneHot(g: Graph): number {
  const producer = new Map<Value, GraphNode>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  let rewritten = 0;
  for (let i = 0; i < g.nodes.length; i++) {
    const sc = g.nodes[i]!;
    if (sc.op !== 'ScatterElements' || sc.attrs.reduction?.type !== 'STRING' || sc.attrs.reduction.value !== 'add') continue;
    const [data, index, updates] = sc.inputs as [Value, Value, Value];
    const axis = intAttribute(sc, 'axis');
    const size = data.shape[axis];
    const zeroFill = producer.get(data);
    const fill = zeroFill?.attrs.value;
    const isZeros = zeroFill?.op === 'ConstantOfShape' && fill?.type === 'TENSOR' && Array.from(fill.value.values as ArrayLike<number | bigint>).every((v) => Number(v) === 0);
    const onePerRow = index.shape.every((d, k) => (k === axis ? d === 1 : d === data.shape[k] && d === updates.shape[k])) && updates.shape[axis] === 1;
    if (!isZeros || !onePerRow || typeof size !== 'number') continue;
    if (index.dtype !== 'int64') throw new GraphError(`ScatterElements ${sc.outputs[0]!.name}: int64 indices expected, got ${index.dtype}`);
    const out = sc.outputs[0]!;
    replaceAt(g, i, () => {
      const iotaShape = data.shape.map((_, k) => (k === axis ? size : 1));
      const iota = g.constant(BigInt64Array.from({ length: size }, (_, k) => BigInt(k)), iotaShape, 'int64'); // (1, …, size, …, 1)
      const hit = g.equal(index, iota); // data's shape, bool
      g.nodes.push({ op: 'Where', inputs: [hit, updates, g.scalar(0, out.dtype)], outputs: [out], attrs: {} });
    });
    rewritten++;
  }
  return rewritten;
}

