// OpenAI wire shapes for chat responses and stream chunks, built from the
// service's outcomes. Outerloop additions live under `outerloop` (top level) and
// as `completion_id` / `model_version` on each choice; clients that do not know
// them ignore them.
import type { TokenEvent } from '../engine/policy-backend.js';
import type { ChatCompletionResponse } from '../openapi/response.schemas.js';
import type { BestOfNReport } from '../best-of-n/best-of-n-mode.js';
import type { ChatPlan, ChoiceOutcome, ChoicePlan } from './chat-plan.js';

export interface LogprobEntry {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: Array<{ token: string; logprob: number; bytes: number[] }>;
}

function bytesOf(s: string): number[] {
  return [...Buffer.from(s, 'utf8')];
}

export function logprobEntries(tokens: TokenEvent[]): LogprobEntry[] {
  return tokens.map((t) => ({
    token: t.text,
    logprob: t.logprob,
    bytes: bytesOf(t.text),
    top_logprobs: (t.topLogprobs ?? []).map((a) => ({ token: a.text, logprob: a.logprob, bytes: bytesOf(a.text) })),
  }));
}

export function outerloopBlock(plan: ChatPlan, bestOfN?: BestOfNReport): ChatCompletionResponse['outerloop'] {
  return {
    completion_id: plan.choices[0]!.completionId,
    model_version: plan.choices[0]!.version,
    completion_ids: plan.choices.map((c) => c.completionId),
    conversation_id: plan.conversationId,
    comparison: plan.comparisonId ? { id: plan.comparisonId, mode: plan.comparisonMode } : null,
    ...(bestOfN ? { best_of_n: bestOfN } : {}),
  };
}

/** The response's `id` is the first choice's completion id: what feedback refers to. */
export function responseId(plan: ChatPlan): string {
  return plan.choices[0]!.completionId;
}

export function chatCompletionBody(plan: ChatPlan, outcomes: ChoiceOutcome[]): ChatCompletionResponse {
  const promptTokens = outcomes[0]?.result.promptTokens ?? 0;
  const completionTokens = outcomes.reduce((s, o) => s + o.result.completionTokens, 0);
  return {
    id: responseId(plan),
    object: 'chat.completion' as const,
    created: plan.created,
    model: plan.choices[0]!.version,
    system_fingerprint: null,
    choices: outcomes.map((o) => ({
      index: o.plan.index,
      message: { role: 'assistant' as const, content: o.result.text, refusal: null },
      logprobs: plan.sampling.logprobs ? { content: logprobEntries(o.result.tokens), refusal: null } : null,
      finish_reason: o.finishReason,
      completion_id: o.plan.completionId,
      model_version: o.plan.version,
    })),
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    outerloop: outerloopBlock(plan, outcomes[0]?.bestOfN),
  };
}

export class ChunkWriter {
  constructor(
    private readonly plan: ChatPlan,
    private readonly write: (data: string) => void,
  ) {}

  private chunk(choices: unknown[], extra: Record<string, unknown> = {}): void {
    const body = {
      id: responseId(this.plan),
      object: 'chat.completion.chunk',
      created: this.plan.created,
      model: this.plan.choices[0]!.version,
      system_fingerprint: null,
      choices,
      // With include_usage, every chunk carries usage: null except the last (OpenAI's contract).
      ...(this.plan.includeUsage ? { usage: null } : {}),
      ...extra,
    };
    this.write(`data: ${JSON.stringify(body)}\n\n`);
  }

  start(choice: ChoicePlan, bestOfN?: BestOfNReport): void {
    this.chunk(
      [
        {
          index: choice.index,
          delta: { role: 'assistant', content: '', refusal: null },
          logprobs: null,
          finish_reason: null,
          completion_id: choice.completionId,
          model_version: choice.version,
        },
      ],
      choice.index === 0 ? { outerloop: outerloopBlock(this.plan, bestOfN) } : {},
    );
  }

  delta(choice: ChoicePlan, text: string, tokens: TokenEvent[]): void {
    if (!text && tokens.length === 0) return;
    this.chunk([
      {
        index: choice.index,
        delta: { content: text },
        logprobs: this.plan.sampling.logprobs ? { content: logprobEntries(tokens), refusal: null } : null,
        finish_reason: null,
      },
    ]);
  }

  finish(o: ChoiceOutcome): void {
    this.chunk([{ index: o.plan.index, delta: {}, logprobs: null, finish_reason: o.finishReason, completion_id: o.plan.completionId, model_version: o.plan.version }]);
  }

  usage(outcomes: ChoiceOutcome[]): void {
    const promptTokens = outcomes[0]?.result.promptTokens ?? 0;
    const completionTokens = outcomes.reduce((s, o) => s + o.result.completionTokens, 0);
    this.chunk([], { usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens } });
  }

  done(): void {
    this.write('data: [DONE]\n\n');
  }
}
