// The accepted subset of OpenAI's Chat Completions request, validated once at the
// edge. Unknown fields are ignored (as vLLM's OpenAI server does for fields it has no
// use for) so that clients sending e.g. presence_penalty keep working; fields we
// accept are checked strictly and an error names the offending `param`.
import { z } from 'zod';
import { GatewayError } from '../errors.js';

/** OpenAI allows a string or an array of content parts; we serve text only. */
const ContentSchema = z.union([
  z.string(),
  z.array(
    z.object({
      type: z.literal('text', { error: 'only text content parts are supported' }),
      text: z.string(),
    }),
  ),
]);

const MessageSchema = z.object({
  // 'developer' is OpenAI's newer name for system instructions (o1+ models).
  role: z.enum(['system', 'developer', 'user', 'assistant'], { error: 'role must be one of system, developer, user, assistant' }),
  content: ContentSchema.nullable().optional(),
  name: z.string().optional(),
});

export const MAX_N = 8;
export const MAX_STOP_SEQUENCES = 4;

export const ChatCompletionRequestSchema = z
  .object({
    model: z.string({ error: 'model is required' }).min(1, 'model must not be empty').max(200),
    messages: z.array(MessageSchema, { error: 'messages must be an array' }).min(1, 'messages must contain at least one message'),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().gt(0).max(1).nullable().optional(),
    max_tokens: z.number().int().positive().nullable().optional(),
    max_completion_tokens: z.number().int().positive().nullable().optional(),
    n: z.number().int().min(1).max(MAX_N).nullable().optional(),
    stop: z
      .union([z.string().min(1), z.array(z.string().min(1)).max(MAX_STOP_SEQUENCES)])
      .nullable()
      .optional(),
    seed: z.number().int().nullable().optional(),
    logprobs: z.boolean().nullable().optional(),
    top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
    user: z.string().max(200).optional(),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
    /** Outerloop extension; OpenAI clients pass it through `extra_body` / extra fields. */
    outerloop: z
      .object({
        compare: z.enum(['versions', 'samples']).optional(),
        conversation_id: z.string().min(1).max(200).optional(),
      })
      .optional(),
  })
  .superRefine((r, ctx) => {
    if (r.top_logprobs != null && r.top_logprobs > 0 && !r.logprobs) {
      ctx.addIssue({ code: 'custom', path: ['top_logprobs'], message: 'top_logprobs requires logprobs=true' });
    }
    if (r.stream_options && !r.stream) {
      ctx.addIssue({ code: 'custom', path: ['stream_options'], message: 'stream_options is only allowed when stream=true' });
    }
    const last = r.messages[r.messages.length - 1];
    if (last && last.role === 'assistant') {
      ctx.addIssue({ code: 'custom', path: ['messages', r.messages.length - 1, 'role'], message: 'the last message must not be from the assistant' });
    }
  });

export type ChatCompletionRequest = z.output<typeof ChatCompletionRequestSchema>;

function paramName(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** Parse or throw a 400 GatewayError whose `param` names the first bad field. */
export function parseChatCompletionRequest(body: unknown): ChatCompletionRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw GatewayError.invalid(null, 'request body must be a JSON object');
  }
  const r = ChatCompletionRequestSchema.safeParse(body);
  if (r.success) return r.data;
  const first = r.error.issues[0]!;
  const param = paramName(first.path) || null;
  const all = r.error.issues.map((i) => `${paramName(i.path) || '(body)'}: ${i.message}`).join('; ');
  throw GatewayError.invalid(param, all);
}

/** Text of a message's content (string or text parts joined). */
export function messageText(content: ChatCompletionRequest['messages'][number]['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((p) => p.text).join('');
}
