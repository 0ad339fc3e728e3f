// The narrow port the gateway needs from a serving engine. The engine's
// BatchEngine (src/engine/runtime) satisfies it structurally; unit tests use a
// deterministic fake so HTTP, routing and logging are tested without ORT.
// The request and result types are the engine's own (one definition).
import type { GenerateParams, GenerateResult, TokenEvent } from '../../../engine/runtime/batch-engine.js';

export type { GenerateParams, GenerateResult, TokenEvent };

export interface BackendStats {
  activeRows: number;
  waiting: number;
  lastBatchSize: number;
  steps: number;
}

export interface PolicyBackend {
  generate(params: GenerateParams, onToken?: (t: TokenEvent) => void): Promise<GenerateResult>;
  stats(): BackendStats;
  close(): Promise<void>;
  /**
   * Called at most once if the backend dies on its own (its engine thread exited),
   * never after close(). Every request in it has been failed; the pool reloads it.
   */
  onFailure?(listener: (error: Error) => void): void;
}

/** Loads the serving engine for one artifact directory. */
export type PolicyLoader = (artifactDir: string) => Promise<PolicyBackend>;
