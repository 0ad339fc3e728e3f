// Graph-level rewrites of a finished graph (forward + the backward autodiff appended),
// applied before it is serialized for ORT.
//
//  deadNodes  autodiff's rules build the gradient of every operand of a node, also of
//             operands that need none (the causal mask, the 1/√HS scale of q); ORT runs
//             those nodes anyway: 16 nodes per SFT step of the reference model, among them
//             a (B, NH, T, T) → (T, T) ReduceSum per layer.
//
// Measured and left out (tests/bench/engine-train.ts, reference config, 2 threads, no
// spinning, fresh sessions per round): x @ W + b as one Gemm over the rows, and the
// target-pick gradient as a one-hot Where instead of a scatter into zeros, were no
// faster, the one-hot form slower at 2×256 (384–651 ms vs 195–625 ms per step). ORT
// already folds the backward's Transposes into its MatMuls (FusedMatMul with transA /
// transB: 38 of them in the optimized SFT graph), so the MatMul rule keeps its plain form.

import { Graph, GraphNode, Value } from './builder.js';

export interface GraphPassOptions {
  deadNodes?: boolean;
}

/** Nodes removed by each pass. */
export type GraphPassReport = Record<keyof GraphPassOptions, number>;

/** Applies the passes (all by default) in place; returns what each one changed. */
export function optimizeTrainingGraph(g: Graph, opts: GraphPassOptions = {}): GraphPassReport {
  return { deadNodes: (opts.deadNodes ?? true) ? eliminateDeadNodes(g) : 0 };
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
