// The production PolicyLoader: the engine's continuous-batching BatchEngine.
// Imported lazily so a process without the gateway role never loads ORT.
import type { PolicyBackend, PolicyLoader } from './policy-backend.js';

export interface BatchEngineLoaderOptions {
  /** KV-cache slots = the admission queue's concurrent generations */
  maxBatch: number;
  /** 0 = ORT default (all cores) */
  intraOpThreads: number;
}

export function batchEngineLoader(opts: BatchEngineLoaderOptions): PolicyLoader {
  return async (artifactDir: string): Promise<PolicyBackend> => {
    // TODO(engine): switch to a static import once src/engine/runtime lands.
    const specifier = '../../../engine/runtime/index.js';
    const runtime = (await import(specifier)) as {
      BatchEngine: { load(dir: string, o?: Record<string, unknown>): Promise<PolicyBackend> };
    };
    return runtime.BatchEngine.load(artifactDir, { maxBatch: opts.maxBatch, intraOpThreads: opts.intraOpThreads || undefined });
  };
}
