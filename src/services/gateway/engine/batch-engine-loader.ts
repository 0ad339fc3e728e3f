// The production PolicyLoader: the engine's continuous-batching BatchEngine.
// Imported lazily so that importing the gateway module (every process does, via
// AppModule) does not load onnxruntime's native library unless a model is served.
import { availableParallelism } from 'node:os';
import type { PolicyBackend, PolicyLoader } from './policy-backend.js';

/**
 * ORT threads when the configuration leaves it to us: one core stays with the JS
 * event loop, which in a gateway is busy (HTTP, SSE framing, sampling, the
 * engine's own step loop). Measured with `npm run bench -- serve` on 2 cores
 * (random-weight C=256, L=4, 5 s per level): 1 ORT thread 98.8 / 260.9 tokens/s at
 * 1 / 8 streams, 2 ORT threads 31.7 / 77.6 — oversubscribing the cores costs 3×.
 */
export function defaultServingThreads(cores = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

export interface BatchEngineLoaderOptions {
  /** KV-cache slots = the admission queue's concurrent generations */
  maxBatch: number;
  /** 0 = defaultServingThreads() */
  intraOpThreads: number;
}

export function batchEngineLoader(opts: BatchEngineLoaderOptions): PolicyLoader {
  return async (artifactDir: string): Promise<PolicyBackend> => {
    const { EngineThread } = await import('../../../engine/runtime/index.js');
    return EngineThread.load(artifactDir, { maxBatch: opts.maxBatch, intraOpThreads: opts.intraOpThreads > 0 ? opts.intraOpThreads : defaultServingThreads() });
  };
}
