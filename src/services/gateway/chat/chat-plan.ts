// What the chat use case decided about one request before generating (ChatPlan) and
// what each choice produced (ChoiceOutcome): shared by the service that builds them and
// the wire-format code that renders them (chat-response.ts).
import type { ChatMessage } from '../../../engine/chat-template.js';
import type { Caller } from '../auth/auth.service.js';
import type { GenerateResult } from '../engine/policy-backend.js';
import type { BestOfNReport } from '../best-of-n/best-of-n-mode.js';
import type { Arm } from '../routing/router.js';

export interface SamplingPlan {
  temperature: number;
  topP: number;
  maxTokens: number;
  stop: string[];
  logprobs: boolean;
  topLogprobs: number;
}

export interface ChoicePlan {
  index: number;
  completionId: string;
  version: string;
  arm: Arm | 'pinned';
  seed: number;
}

export interface ChatPlan {
  receivedAt: number;
  created: number;
  requestedModel: string;
  messages: ChatMessage[];
  sampling: SamplingPlan;
  choices: ChoicePlan[];
  comparisonId: string | null;
  comparisonMode: 'versions' | 'samples' | null;
  conversationId: string;
  caller: Caller;
  userId: string | null;
  shadowVersion: string | null;
  stream: boolean;
  includeUsage: boolean;
  /** best-of-n mode: answers sampled per choice, the RM's best returned (best-of-n-mode.ts); null = off */
  bestOfN: number | null;
}

export interface ChoiceOutcome {
  plan: ChoicePlan;
  result: GenerateResult;
  /** what the client sees: 'cancelled' becomes 'length' when the deadline cut it */
  finishReason: 'stop' | 'length';
  ttftMs: number;
  latencyMs: number;
  /** set when best-of-n chose this answer */
  bestOfN?: BestOfNReport;
}
