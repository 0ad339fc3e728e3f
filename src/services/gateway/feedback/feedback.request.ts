// The wire format of POST /v1/feedback and /v1/feedback/batch (snake_case, the
// simulated users and external clients use it) and its translation to the
// `outerloop.feedback` event. The per-type rules (thumbs ±1, rating 1..5, ...)
// live once in FeedbackEventSchema; this file only checks the request shape and
// maps errors back to the snake_case field the client sent.
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { EVENT_VERSION, FeedbackEventSchema, type EventInput, type Topic } from '../../../platform/messaging/events.js';

/** A batch request carries at most this many events (issue 6). */
export const MAX_FEEDBACK_BATCH = 1000;

const id = z.string().min(1).max(200);

export const FeedbackRequestSchema = z.strictObject({
  completion_id: id,
  type: z.enum(['thumbs', 'rating', 'pairwise', 'edit']),
  /** thumbs: "up" | "down" | 1 | -1; rating: 1..5; pairwise: "this" | "other" | "tie" | 1 | -1 | 0; edit: null/absent */
  value: z.union([z.number(), z.string(), z.null()]).optional(),
  other_completion_id: id.optional().nullable(),
  edited_response: z.string().max(100_000).optional().nullable(),
  comment: z.string().max(10_000).optional().nullable(),
  /** client idempotency key; namespaced by API key so two clients never collide */
  event_id: z.string().min(1).max(200).optional().nullable(),
  /** optional end-user id for attribution (OpenAI's `user` field) */
  user: z.string().max(200).optional().nullable(),
});
export type FeedbackRequest = z.infer<typeof FeedbackRequestSchema>;

export const FeedbackBatchRequestSchema = z.strictObject({
  events: z.array(z.unknown()).min(1).max(MAX_FEEDBACK_BATCH),
});

/** A client error that names the offending field in the client's own spelling. */
export interface FieldError {
  param: string;
  message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: FieldError };

const EVENT_TO_WIRE_FIELD: Record<string, string> = {
  completionId: 'completion_id',
  otherCompletionId: 'other_completion_id',
  editedResponse: 'edited_response',
  eventId: 'event_id',
  value: 'value',
  comment: 'comment',
  type: 'type',
};

function firstIssue(error: z.ZodError, prefix: string): FieldError {
  const issue = error.issues[0]!;
  const path = issue.path.map(String);
  let param = path.length ? path.join('.') : '(body)';
  if (issue.code === 'unrecognized_keys') param = issue.keys.join(', ');
  return { param: prefix + param, message: `${prefix}${param}: ${issue.message}` };
}

/** Symbolic values are accepted because humans write them; the event carries numbers. */
function normaliseValue(type: FeedbackRequest['type'], value: FeedbackRequest['value']): number | null | string {
  if (typeof value !== 'string') return value ?? null;
  const v = value.trim().toLowerCase();
  if (type === 'thumbs') return v === 'up' ? 1 : v === 'down' ? -1 : value;
  if (type === 'pairwise') return v === 'this' || v === 'a' ? 1 : v === 'other' || v === 'b' ? -1 : v === 'tie' ? 0 : value;
  if (type === 'rating' && /^[1-5]$/.test(v)) return Number(v);
  return value;
}

/**
 * Deterministic server event id for a client-supplied event id: the same
 * (API key, event_id) always maps to the same id, so a replayed request is
 * deduplicated by the ingest upsert, and two API keys using the same event_id
 * never collide. Formatted as an RFC 9562 version-8 UUID (custom hash-based).
 */
export function namespacedEventId(apiKeyId: string | null, clientEventId: string): string {
  const h = createHash('sha256').update(apiKeyId ?? '(anonymous)').update('\u0000').update(clientEventId).digest();
  h[6] = (h[6]! & 0x0f) | 0x80; // version 8
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC variant
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface Caller {
  apiKeyId: string | null;
  userId: string | null;
}

/**
 * Parse one request item into a feedback event, validated against the topic's
 * schema (so a 202 is never given to an event the bus would refuse).
 * `prefix` is prepended to field names ("events[3].") for batch requests.
 */
export function feedbackEventFromRequest(
  body: unknown,
  caller: Caller,
  now: Date,
  prefix = '',
): Parsed<EventInput<typeof Topic.feedback>> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, error: { param: prefix || '(body)', message: `${prefix || 'body'}: expected a JSON object` } };
  }
  const shape = FeedbackRequestSchema.safeParse(body);
  if (!shape.success) return { ok: false, error: firstIssue(shape.error, prefix) };
  const r = shape.data;
  const value = normaliseValue(r.type, r.value);
  if (typeof value === 'string') {
    return { ok: false, error: { param: `${prefix}value`, message: `${prefix}value: "${value}" is not a valid ${r.type} value` } };
  }
  const event: EventInput<typeof Topic.feedback> = {
    v: EVENT_VERSION,
    eventId: r.event_id ? namespacedEventId(caller.apiKeyId, r.event_id) : randomUUID(),
    completionId: r.completion_id,
    type: r.type,
    value: r.type === 'edit' ? null : value,
    otherCompletionId: r.other_completion_id ?? null,
    editedResponse: r.edited_response ?? null,
    comment: r.comment ?? null,
    userId: r.user ?? caller.userId,
    apiKeyId: caller.apiKeyId,
    createdAt: now.toISOString(),
  };
  const checked = FeedbackEventSchema.safeParse(event);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    const field = EVENT_TO_WIRE_FIELD[String(issue.path[0])] ?? String(issue.path[0] ?? '(body)');
    return { ok: false, error: { param: prefix + field, message: `${prefix}${field}: ${issue.message}` } };
  }
  return { ok: true, value: event };
}
