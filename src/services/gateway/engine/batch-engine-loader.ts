// The production PolicyLoader: the engine's continuous-batching BatchEngine.
// Imported lazily so that importing the gateway module (every process does, via
// AppModule) does not load onnxruntime's native library unless a model is served.
import { availableParallelism } from 'node:os';
import type { PolicyBackend, PolicyLoader } from './policy-backend.js';

/**
 * ORT threads when the configuration leaves it to us: one core stays with the JS
 * event loop, which in a gateway is busy (HTTP, SSE framing). With the engine on its
 * own thread (EngineThread) and non-spinning pools, 1 and 2 ORT threads measured the
 * same on the 2-core machine (`npm run bench -- serve --levels 1,32 --threads N`, two
 * runs each: 457–464 / 2,002–2,120 tokens/s with 1, 460–478 / 1,849–2,001 with 2);
 * before that, with spinning pools on the event loop's thread, 2 threads cost 3×.
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
