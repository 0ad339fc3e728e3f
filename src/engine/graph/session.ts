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
  /**
   * Let ORT's pool threads spin-wait between runs and parallel sections (ORT's default;
   * ours is false). A spinning pool thread holds a core that the thread running the next
   * kernel, the serving sessions, the event loop and every other process could use: see
   * servingSessionOptions for what it cost serving; `npm run bench -- train-contention`,
   * SFT of the reference GPT (8 × 256) on two threads beside serving: 1.9 s per step and
   * chat TTFT p50 81 ms spinning, 0.55 s and 48 ms not (separate runs, same machine).
   */
  spinning?: boolean;
}

export function defaultIntraOpThreads(): number {
  return availableParallelism();
}

/**
 * The one place ORT session options are made, for the training/scoring sessions of
 * getSession and the serving sessions of the BatchEngine: one inter-op thread, sequential
 * execution, and only ORT's errors logged — its warnings (e.g. 'Removing initializer
 * reward_head.b': the scalar heads are not part of the serving graphs) go straight to
 * stderr, unstructured, and production logs must stay one JSON object per line.
 */
export function ortSessionOptions(options: EngineSessionOptions = {}): ort.InferenceSession.SessionOptions {
  return {
    logSeverityLevel: 3,
    intraOpNumThreads: options.intraOpThreads ?? defaultIntraOpThreads(),
    interOpNumThreads: 1,
    graphOptimizationLevel: options.optimization ?? 'extended',
    executionMode: 'sequential',
    extra: { session: { intra_op: { allow_spinning: options.spinning ? '1' : '0' } } },
  };
}

/**
 * Options of the serving sessions (prefill and decode): every graph optimization, and no
 * spinning. Each session has its own ORT pool. Serving alternates prefill and decode, so the idle pool's spinning threads took
 * the cores from the running one: on 2 cores a decode step right after a prefill took
 * 10.9 ms instead of 5.5 ms (batch 30, P = 64), 4.8 ms without spinning. They also took a
 * core from the event loop that feeds the engine: `npm run bench -- serve`, 32 streams,
 * 2,350 tokens/s without spinning, 1,586–1,831 with the decode pool spinning,
 * 1,167–1,335 with both (same window). Back-to-back decode steps alone are no faster
 * with spinning (batch 32: 7.1–7.4 vs 7.1–7.4 ms/step; batch 1 slower: 1.69–1.86 vs
 * 1.48–1.61 ms).
 */
export function servingSessionOptions(intraOpThreads?: number): ort.InferenceSession.SessionOptions {
  return ortSessionOptions({ ...(intraOpThreads !== undefined ? { intraOpThreads } : {}), optimization: 'all' });
}

const cache = new Map<string, Promise<ort.InferenceSession>>();

/** A cached InferenceSession for `model` (bytes or a Graph) with `options`. */
export function getSession(model: Uint8Array | Graph, options: EngineSessionOptions = {}): Promise<ort.InferenceSession> {
  const bytes = model instanceof Uint8Array ? model : model.serialize();
  const sessionOptions = ortSessionOptions(options);
  const key = createHash('sha256').update(bytes).digest('hex') + `|${sessionOptions.intraOpNumThreads}|${sessionOptions.graphOptimizationLevel}|${options.spinning === true}`;
  let session = cache.get(key);
  if (!session) {
    session = ort.InferenceSession.create(bytes, sessionOptions);
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
