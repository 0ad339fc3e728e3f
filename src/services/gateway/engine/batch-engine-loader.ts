// The production PolicyLoader: the engine's continuous-batching BatchEngine.
// Imported lazily so that importing the gateway module (every process does, via
// AppModule) does not load onnxruntime's native library unless a model is served.
import type { PolicyBackend, PolicyLoader } from './policy-backend.js';

export interface BatchEngineLoaderOptions {
  /** KV-cache slots = the admission queue's concurrent generations */
  maxBatch: number;
  /** 0 = ORT default (all cores) */
  intraOpThreads: number;
}

export function batchEngineLoader(opts: BatchEngineLoaderOptions): PolicyLoader {
  return async (artifactDir: string): Promise<PolicyBackend> => {
    const { BatchEngine } = await import('../../../engine/runtime/index.js');
    return BatchEngine.load(artifactDir, { maxBatch: opts.maxBatch, ...(opts.intraOpThreads > 0 ? { intraOpThreads: opts.intraOpThreads } : {}) });
  };
}
