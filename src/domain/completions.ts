// A served completion as the platform records it (the `completions` table, the
// `outerloop.completions` topic).

export const CHAT_ROLES = ['system', 'user', 'assistant'] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export const FINISH_REASONS = ['stop', 'length', 'cancelled', 'error'] as const;
export type FinishReason = (typeof FINISH_REASONS)[number];

/** The sampling parameters a completion was generated with. */
export interface SamplingRecord {
  temperature: number;
  topP: number;
  maxTokens: number;
  seed: number | null;
  stop: string[];
}

export interface CompletionRecord {
  id: string;
  conversationId: string;
  /** set when the completion is one side of a side-by-side comparison */
  comparisonId: string | null;
  messages: ChatMessage[];
  response: string;
  modelVersion: string;
  sampling: SamplingRecord;
  promptTokens: number;
  completionTokens: number;
  finishReason: FinishReason;
  ttftMs: number;
  latencyMs: number;
  userId: string | null;
  apiKeyId: string | null;
  shadow: boolean;
  createdAt: Date;
  ingestedAt: Date;
}
