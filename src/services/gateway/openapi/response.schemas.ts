// The gateway's response bodies as zod schemas: documented in /openapi.json and, through
// the types derived from them, the return types of the code that builds the bodies
// (chat-response.ts, chat.service.ts, feedback.service.ts) — so the document cannot
// drift from what is sent without the compiler noticing.
import { z } from 'zod';

export const ErrorResponseSchema = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    /** the request field at fault, e.g. "messages[0].role", "events[3].value" */
    param: z.string().nullable(),
    /** stable, machine-readable reason, e.g. "context_length_exceeded", "invalid_json", "rate_limit_exceeded" */
    code: z.string().nullable(),
  }),
});

const LogprobAlternativeSchema = z.object({ token: z.string(), logprob: z.number(), bytes: z.array(z.number().int()) });
export const LogprobEntrySchema = z.object({
  token: z.string(),
  logprob: z.number(),
  bytes: z.array(z.number().int()),
  top_logprobs: z.array(LogprobAlternativeSchema),
});

const UsageSchema = z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() });

/** Outerloop's additions: what feedback refers to (completion ids) and the side-by-side comparison. */
export const OuterloopBlockSchema = z.object({
  completion_id: z.string(),
  model_version: z.string(),
  completion_ids: z.array(z.string()),
  conversation_id: z.string(),
  comparison: z.object({ id: z.string(), mode: z.enum(['versions', 'samples']).nullable() }).nullable(),
  /** present when the gateway runs in best-of-n mode (OUTERLOOP_GATEWAY_BEST_OF_N): how this answer was chosen and what it cost */
  best_of_n: z
    .object({
      n: z.number().int(),
      reward_model_version: z.string(),
      kl_bound_nats: z.number(),
      chosen_index: z.number().int(),
      scores: z.array(z.number()),
      sampled_completion_tokens: z.number().int(),
      extra_completion_tokens: z.number().int(),
    })
    .optional(),
});

export const ChatCompletionResponseSchema = z.object({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.number().int(),
  model: z.string(),
  system_fingerprint: z.null(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({ role: z.literal('assistant'), content: z.string(), refusal: z.null() }),
      logprobs: z.object({ content: z.array(LogprobEntrySchema), refusal: z.null() }).nullable(),
      finish_reason: z.enum(['stop', 'length']),
      completion_id: z.string(),
      model_version: z.string(),
    }),
  ),
  usage: UsageSchema,
  outerloop: OuterloopBlockSchema,
});
export type ChatCompletionResponse = z.input<typeof ChatCompletionResponseSchema>;

export const ModelSchema = z.object({
  id: z.string(),
  object: z.literal('model'),
  created: z.number().int(),
  owned_by: z.string(),
  /** routed alias: the deployment it routes over; a version: its role (production, canary, shadow, loaded) */
  outerloop: z.record(z.string(), z.unknown()),
});
export type ModelObject = z.input<typeof ModelSchema>;

export const ModelListSchema = z.object({ object: z.literal('list'), data: z.array(ModelSchema) });
export type ModelList = z.input<typeof ModelListSchema>;

export const FeedbackAcceptedSchema = z.object({
  /** server event ids, in request order */
  event_ids: z.array(z.string()),
});
