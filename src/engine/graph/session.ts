// onnxruntime-node sessions, cached per (model bytes, options): building a session costs
// tens to hundreds of milliseconds (graph optimization, kernel selection), a run of the
// same graph costs milliseconds, so a training loop or a decode loop must reuse one.

import { createHash } from 'node:crypto';
import ort from 'onnxruntime-node';
import { availableParallelism } from 'node:os';
import { GraphError } from '../errors.js';
import type { Graph } from './builder.js';

export interface EngineSessionOptions {
  /** ORT intra-op threads; defaults to the machine's core count (measured best for MatMul-bound graphs). */
  intraOpThreads?: number;
  /** ORT graph optimization level; 'all' for inference, 'extended' is the default. */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
}

export function defaultIntraOpThreads(): number {
  return availableParallelism();
}

const cache = new Map<string, Promise<ort.InferenceSession>>();

/** A cached InferenceSession for `model` (bytes or a Graph) with `options`. */
export function getSession(model: Uint8Array | Graph, options: EngineSessionOptions = {}): Promise<ort.InferenceSession> {
  const bytes = model instanceof Uint8Array ? model : model.serialize();
  const intraOpNumThreads = options.intraOpThreads ?? defaultIntraOpThreads();
  const graphOptimizationLevel = options.optimization ?? 'extended';
  const key = createHash('sha256').update(bytes).digest('hex') + `|${intraOpNumThreads}|${graphOptimizationLevel}`;
  let session = cache.get(key);
  if (!session) {
    session = ort.InferenceSession.create(bytes, {
      intraOpNumThreads,
      interOpNumThreads: 1,
      graphOptimizationLevel,
      executionMode: 'sequential',
      logSeverityLevel: 3, // ORT warnings bypass our structured logs (see runtime/batch-engine.ts)
    });
    // A failed creation must not poison the cache: drop it so a retry rebuilds.
    session.catch(() => cache.delete(key));
    cache.set(key, session);
  }
  return session;
}

/** Releases every cached session (tests, shutdown). */
export async function releaseSessions(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  for (const s of all) await (await s).release();
}

/** Runs `graph` once with the given feeds and returns every output (convenience for tests and one-off graphs). */
export async function runGraph(graph: Graph, feeds: Record<string, ort.Tensor>, options?: EngineSessionOptions): Promise<Record<string, ort.Tensor>> {
  const session = await getSession(graph, options);
  for (const inp of graph.inputs) if (!(inp.name in feeds)) throw new GraphError(`missing feed for graph input '${inp.name}'`);
  return session.run(feeds);
}

export { ort };
