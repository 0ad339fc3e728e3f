// The one place where topic names, event schemas and their TypeScript types live
// (ARCHITECTURE §3). Producers and consumers both import from here and both
// validate: an event that does not match its schema is never produced, and one
// that arrives malformed goes to the topic's dead-letter topic with the reason.
import { z } from 'zod';
import { JOB_KINDS, JOB_STATES, type JobKind } from '../../domain/jobs.js';

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

// ---- Jobs (ARCHITECTURE §3): the row in `jobs` is the job; `outerloop.jobs` only
// wakes workers and `outerloop.job-events` streams state and progress. Each kind's
// parameters are validated when the job is enqueued and again when a worker runs it.
// Strict objects: a misspelt parameter is an error naming it, not a silent default.

const seed = z.number().int().nonnegative().max(2 ** 31 - 1);
const positiveInt = z.number().int().positive();
/** a model version id; absent = the current production policy */
const basePolicy = id.optional();
/** PPO and best-of-n optimise one of these over an RM ensemble's members (Coste et al. 2023) */
export const RewardObjectiveSchema = z.enum(['mean', 'uwo', 'wco']);

export const JobParamsSchemas = {
  reward_model: z.strictObject({
    snapshotId: id,
    seed: seed.default(0),
    /** ensemble members, each from its own seed and bootstrap resample */
    ensemble: positiveInt.max(16).default(1),
    epochs: positiveInt.max(1000).default(1),
    basePolicy,
    learningRate: z.number().positive().optional(),
    batchSize: positiveInt.optional(),
    /** Llama 2 margin from rating differences */
    margin: z.boolean().default(false),
    /** reward-centering coefficient λ in λ·(r_c + r_r)² */
    centering: z.number().nonnegative().default(0),
    /** the snapshot split to train on: \`heldout\` trains the independent judge RM the evaluator
     * uses for win rates (never an RM that PPO may optimise against) */
    split: z.enum(['train', 'heldout']).default('train'),
  }),
  ppo: z.strictObject({
    rewardModelVersion: id,
    basePolicy,
    promptSetId: id.optional(),
    steps: positiveInt,
    seed: seed.default(0),
    objective: RewardObjectiveSchema.default('mean'),
    klCoef: z.number().nonnegative().optional(),
    targetKl: z.number().positive().optional(),
    batchSize: positiveInt.optional(),
    checkpointEvery: positiveInt.optional(),
    /** Adam's (constant) learning rate; unset: the trainer's default, 5e-5 */
    learningRate: z.number().positive().max(1).optional(),
  }),
  dpo: z.strictObject({
    snapshotId: id,
    basePolicy,
    beta: z.number().positive().default(0.1),
    epochs: positiveInt.max(1000).default(1),
    seed: seed.default(0),
    learningRate: z.number().positive().optional(),
    batchSize: positiveInt.optional(),
  }),
  rejection_sampling: z.strictObject({
    rewardModelVersion: id,
    basePolicy,
    promptSetId: id.optional(),
    /** samples per prompt; the best by reward is kept for fine-tuning */
    n: positiveInt.max(256),
    epochs: positiveInt.max(1000).default(1),
    seed: seed.default(0),
    objective: RewardObjectiveSchema.default('mean'),
  }),
  best_of_n: z.strictObject({
    rewardModelVersion: id,
    basePolicy,
    promptSetId: id.optional(),
    n: positiveInt.max(256),
    seed: seed.default(0),
    objective: RewardObjectiveSchema.default('mean'),
  }),
  evaluation: z.strictObject({
    /** the model version (or PPO checkpoint's version) under evaluation */
    candidate: id,
    /** the incumbent it is compared with; absent = the current production policy */
    baseline: id.optional(),
    suites: z.array(z.string().min(1).max(100)).min(1),
    rewardModelVersion: id.optional(),
    /** the PPO run the candidate came from: every checkpoint is evaluated and the one to judge is chosen by eval */
    runId: id.optional(),
    /** the judge RM (trained on the snapshot's held-out split) for the candidate-vs-incumbent win rate */
    judgeModelVersion: id.optional(),
    seed: seed.default(0),
  }),
} as const satisfies Record<JobKind, z.ZodType>;

export type JobParams<K extends JobKind> = z.output<(typeof JobParamsSchemas)[K]>;
export type JobParamsInput<K extends JobKind> = z.input<(typeof JobParamsSchemas)[K]>;

/** A job as enqueued: its kind and that kind's parameters (discriminated by `kind`). */
export const JobSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('reward_model'), params: JobParamsSchemas.reward_model }),
  z.strictObject({ kind: z.literal('ppo'), params: JobParamsSchemas.ppo }),
  z.strictObject({ kind: z.literal('dpo'), params: JobParamsSchemas.dpo }),
  z.strictObject({ kind: z.literal('rejection_sampling'), params: JobParamsSchemas.rejection_sampling }),
  z.strictObject({ kind: z.literal('best_of_n'), params: JobParamsSchemas.best_of_n }),
  z.strictObject({ kind: z.literal('evaluation'), params: JobParamsSchemas.evaluation }),
]);
export type JobSpec = z.output<typeof JobSpecSchema>;

/** Validate a job as stored or enqueued; the reason names each offending field (`params.seed: …`). */
export function validateJobSpec(value: unknown): Validation<JobSpec> {
  return describeResult(JobSpecSchema.safeParse(value));
}

const jobKind = z.enum(JOB_KINDS);
const jobState = z.enum(JOB_STATES);

/** `outerloop.jobs`: "look at the jobs table" — the job's truth is its row, never this message. */
export const JobWakeUpSchema = z.object({
  v: z.literal(EVENT_VERSION),
  eventId: id,
  jobId: id,
  kind: jobKind,
  /** enqueued (or re-queued for a retry), or a cancel request for a running job */
  reason: z.enum(['enqueued', 'retry', 'cancel']).default('enqueued'),
  createdAt: isoTime,
});

const jobEventBase = {
  v: z.literal(EVENT_VERSION),
  eventId: id,
  jobId: id,
  kind: jobKind,
  /** the attempt the event belongs to (0 before the first run) */
  attempt: z.number().int().nonnegative(),
  createdAt: isoTime,
};

/** What a handler reports with `progress()`; stored on the row and streamed as a progress event. */
export const JobProgressSchema = z.strictObject({
  step: z.number().int().nonnegative(),
  total: positiveInt.nullable().default(null),
  loss: z.number().nullable().default(null),
  metrics: z.record(z.string(), z.number()).default({}),
  tokensPerSecond: z.number().nonnegative().nullable().default(null),
  etaSeconds: z.number().nonnegative().nullable().default(null),
});
export type JobProgress = z.output<typeof JobProgressSchema>;
export type JobProgressInput = z.input<typeof JobProgressSchema>;

/** Validate a handler's progress report; the reason names each offending field. */
export function validateJobProgress(value: unknown): Validation<JobProgress> {
  return describeResult(JobProgressSchema.safeParse(value));
}

/** `outerloop.job-events`: state changes and progress of one job, keyed by job id. */
export const JobEventSchema = z.discriminatedUnion('type', [
  z.object({ ...jobEventBase, type: z.literal('progress'), ...JobProgressSchema.shape }),
  z.object({
    ...jobEventBase,
    type: z.literal('state'),
    state: jobState,
    error: z.string().max(10_000).nullable().default(null),
  }),
]);

export const TopicSchemas = {
  [Topic.completions]: CompletionEventSchema,
  [Topic.feedback]: FeedbackEventSchema,
  [Topic.modelEvents]: ModelEventSchema,
  [Topic.jobs]: JobWakeUpSchema,
  [Topic.jobEvents]: JobEventSchema,
} as const satisfies Record<TopicName, z.ZodType>;

export type EventOf<T extends TopicName> = z.output<(typeof TopicSchemas)[T]>;
export type EventInput<T extends TopicName> = z.input<(typeof TopicSchemas)[T]>;
export type CompletionEvent = EventOf<typeof Topic.completions>;
export type FeedbackEvent = EventOf<typeof Topic.feedback>;
export type ModelEvent = EventOf<typeof Topic.modelEvents>;
export type JobWakeUp = EventOf<typeof Topic.jobs>;
export type JobEvent = EventOf<typeof Topic.jobEvents>;
export type JobProgressEvent = Extract<JobEvent, { type: 'progress' }>;
export type JobStateEvent = Extract<JobEvent, { type: 'state' }>;

export type Validation<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Validate an event for a topic; the reason names each offending field. */
export function validateEvent<T extends TopicName>(topic: T, value: unknown): Validation<EventOf<T>> {
  const schema = TopicSchemas[topic] as unknown as z.ZodType<EventOf<T>> | undefined;
  if (!schema) return { ok: false, reason: `unknown topic ${topic}` };
  return describeResult(schema.safeParse(value));
}

function describeResult<T>(r: z.ZodSafeParseResult<T>, root?: string): Validation<T> {
  if (r.success) return { ok: true, value: r.data };
  return {
    ok: false,
    reason: r.error.issues.map((i) => `${[root, ...i.path].filter((p) => p !== undefined).join('.') || '(root)'}: ${i.message}`).join('; '),
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
