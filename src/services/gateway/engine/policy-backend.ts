// The narrow port the gateway needs from a serving engine. The engine's
// BatchEngine (src/engine/runtime) satisfies it structurally; unit tests use a
// deterministic fake so HTTP, routing and logging are tested without ORT.
import type { PromptSegment } from '../../../engine/chat-template.js';

export interface GenerateParams {
  prompt: PromptSegment[] | number[];
  maxTokens: number;
  temperature: number;
  topP: number;
  topK?: number;
  seed?: number | null;
  stop?: string[];
  /** 0 = none */
  topLogprobs?: number;
  logprobs?: boolean;
  signal?: AbortSignal;
}

export interface TokenEvent {
  tokenId: number;
  text: string;
  logprob: number;
  topLogprobs?: { text: string; logprob: number }[];
}

export interface GenerateResult {
  text: string;
  finishReason: 'stop' | 'length' | 'cancelled';
  promptTokens: number;
  completionTokens: number;
  tokens: TokenEvent[];
}

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
}

/** Loads the serving engine for one artifact directory. */
export type PolicyLoader = (artifactDir: string) => Promise<PolicyBackend>;
