// The one place where topic names, event schemas and their TypeScript types live
// (ARCHITECTURE §3). Producers and consumers both import from here and both
// validate: an event that does not match its schema is never produced, and one
// that arrives malformed goes to the topic's dead-letter topic with the reason.
import { z } from 'zod';

export const Topic = {
  completions: 'outerloop.completions',
  feedback: 'outerloop.feedback',
  modelEvents: 'outerloop.model-events',
  jobs: 'outerloop.jobs',
  jobEvents: 'outerloop.job-events',
} as const;
export type TopicName = (typeof Topic)[keyof typeof Topic];
export const ALL_TOPICS: TopicName[] = Object.values(Topic);

/** `outerloop.feedback` → `outerloop.feedback.dlq` */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** Schema version carried by every event; bump with a migration path when a payload changes. */
export const EVENT_VERSION = 1 as const;

const id = z.string().min(1).max(200);
const isoTime = z.string().datetime({ offset: true });

export const ChatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});

export const CompletionEventSchema = z.object({
  v: z.literal(EVENT_VERSION),
  eventId: id, // = completionId: a completion is produced once and deduplicated by it
  completionId: id,
  conversationId: id,
  /** links the two completions of a comparison request */
  comparisonId: id.nullable().default(null),
  messages: z.array(ChatMessageSchema).min(1),
  response: z.string(),
  modelVersion: id,
  sampling: z.object({
    temperature: z.number().min(0),
    topP: z.number().gt(0).max(1),
    maxTokens: z.number().int().positive(),
    seed: z.number().int().nullable(),
    stop: z.array(z.string()).default([]),
  }),
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  finishReason: z.enum(['stop', 'length', 'cancelled', 'error']),
  ttftMs: z.number().nonnegative(),
  latencyMs: z.number().nonnegative(),
  userId: z.string().max(200).nullable(),
  apiKeyId: z.string().max(200).nullable(),
  shadow: z.boolean().default(false),
  createdAt: isoTime,
});

export const FeedbackEventSchema = z
  .object({
    v: z.literal(EVENT_VERSION),
    eventId: id,
    completionId: id,
    type: z.enum(['thumbs', 'rating', 'pairwise', 'edit']),
    /** thumbs: +1|-1; rating: 1..5; pairwise: 1 (this completion) | -1 (other) | 0 (tie); edit: null */
    value: z.number().nullable(),
    /** pairwise: the other completion of the comparison */
    otherCompletionId: id.nullable().default(null),
    /** edit: the corrected response */
    editedResponse: z.string().nullable().default(null),
    comment: z.string().max(10_000).nullable().default(null),
    userId: z.string().max(200).nullable(),
    apiKeyId: z.string().max(200).nullable(),
    createdAt: isoTime,
  })
  .superRefine((e, ctx) => {
    const bad = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    switch (e.type) {
      case 'thumbs':
        if (e.value !== 1 && e.value !== -1) bad('value', 'thumbs value must be 1 (up) or -1 (down)');
        break;
      case 'rating':
        if (e.value === null || !Number.isInteger(e.value) || e.value < 1 || e.value > 5) bad('value', 'rating value must be an integer 1..5');
        break;
      case 'pairwise':
        if (e.value !== 1 && e.value !== -1 && e.value !== 0) bad('value', 'pairwise value must be 1, -1 or 0 (tie)');
        if (!e.otherCompletionId) bad('otherCompletionId', 'pairwise feedback needs otherCompletionId');
        else if (e.otherCompletionId === e.completionId) bad('otherCompletionId', 'must differ from completionId');
        break;
      case 'edit':
        if (e.editedResponse === null) bad('editedResponse', 'edit feedback needs editedResponse');
        break;
    }
  });

export const ModelEventSchema = z.object({
  v: z.literal(EVENT_VERSION),
  eventId: id,
  modelId: id,
  kind: z.enum(['registered', 'promoted', 'canary', 'rolled-back', 'retired', 'deployment-changed']),
  detail: z.record(z.string(), z.unknown()).default({}),
  createdAt: isoTime,
});

export const JobEventSchema = z.object({
  v: z.literal(EVENT_VERSION),
  eventId: id,
  jobId: id,
  kind: z.string().min(1),
  detail: z.record(z.string(), z.unknown()).default({}),
  createdAt: isoTime,
});

export const TopicSchemas = {
  [Topic.completions]: CompletionEventSchema,
  [Topic.feedback]: FeedbackEventSchema,
  [Topic.modelEvents]: ModelEventSchema,
  [Topic.jobs]: JobEventSchema,
  [Topic.jobEvents]: JobEventSchema,
} as const satisfies Record<TopicName, z.ZodType>;

export type EventOf<T extends TopicName> = z.output<(typeof TopicSchemas)[T]>;
export type EventInput<T extends TopicName> = z.input<(typeof TopicSchemas)[T]>;
export type CompletionEvent = EventOf<typeof Topic.completions>;
export type FeedbackEvent = EventOf<typeof Topic.feedback>;
export type ModelEvent = EventOf<typeof Topic.modelEvents>;
export type JobEvent = EventOf<typeof Topic.jobEvents>;

export type Validation<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Validate an event for a topic; the reason names each offending field. */
export function validateEvent<T extends TopicName>(topic: T, value: unknown): Validation<EventOf<T>> {
  const schema = TopicSchemas[topic] as unknown as z.ZodType<EventOf<T>> | undefined;
  if (!schema) return { ok: false, reason: `unknown topic ${topic}` };
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  return {
    ok: false,
    reason: r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
  };
}

/** What a dead-letter topic carries: the raw event as received and why it was rejected. */
export interface DeadLetter {
  v: typeof EVENT_VERSION;
  sourceTopic: string;
  key: string | null;
  raw: string;
  reason: string;
  partition: number | null;
  offset: string | null;
  rejectedAt: string;
}
