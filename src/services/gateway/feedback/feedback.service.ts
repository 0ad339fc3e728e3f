// The feedback use case: validate, check that the completion exists and belongs
// to the caller, publish, and only then acknowledge. A 202 means the event is
// durable on the bus (publish resolved = acks=all); if the bus cannot take it the
// caller gets a 503 with Retry-After and retries with the same event_id, which
// the ingest upsert deduplicates. No 2xx is ever given for a non-durable event.
import type { Registry } from 'prom-client';
import { Counter, Histogram } from 'prom-client';
import { metric } from '../../../platform/metrics/metrics.js';
import { BusError, type BusRecord, type EventBus } from '../../../platform/messaging/event-bus.js';
import { Topic, type EventInput } from '../../../platform/messaging/events.js';
import { Logger } from '../../../platform/logging/logger.js';
import type { z } from 'zod';
import { GatewayError } from '../errors.js';
import type { FeedbackAcceptedSchema } from '../openapi/response.schemas.js';
import { CoalescingPublisher } from './coalescing-publisher.js';
import type { CompletionDirectory, CompletionOwner } from './completion-directory.js';
import {
  FeedbackBatchRequestSchema,
  MAX_FEEDBACK_BATCH,
  feedbackEventFromRequest,
  type Caller,
} from './feedback.request.js';

type FeedbackInput = EventInput<typeof Topic.feedback>;

/** server event ids, in request order; the ingest tables are keyed by them */
export type FeedbackAccepted = z.input<typeof FeedbackAcceptedSchema>;

/** How long a client should wait before retrying after the bus refused a publish. */
const BUS_RETRY_AFTER_SECONDS = 1;

export class FeedbackMetrics {
  readonly accepted: Counter<'type'>;
  readonly rejected: Counter<'reason'>;
  readonly ackSeconds: Histogram<'form'>;
  readonly publishBatchRecords: Histogram;

  constructor(registry: Registry) {
    this.accepted = metric(registry, 'outerloop_feedback_accepted_total', () =>
      new Counter({ name: 'outerloop_feedback_accepted_total', help: 'Feedback events acknowledged (durable on the bus), by type', labelNames: ['type'] as const, registers: [registry] }),
    );
    this.rejected = metric(registry, 'outerloop_feedback_rejected_total', () =>
      new Counter({ name: 'outerloop_feedback_rejected_total', help: 'Feedback requests refused, by reason (invalid, not_found, forbidden, bus_unavailable, error)', labelNames: ['reason'] as const, registers: [registry] }),
    );
    this.ackSeconds = metric(registry, 'outerloop_feedback_ack_seconds', () =>
      new Histogram({
        name: 'outerloop_feedback_ack_seconds',
        help: 'Time from request to acknowledgement (includes the acks=all publish), by request form',
        labelNames: ['form'] as const,
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [registry],
      }),
    );
    this.publishBatchRecords = metric(registry, 'outerloop_feedback_publish_batch_records', () =>
      new Histogram({
        name: 'outerloop_feedback_publish_batch_records',
        help: 'Feedback events per bus publish call: concurrent requests coalesce into one acks=all produce',
        buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
        registers: [registry],
      }),
    );
  }
}

export class FeedbackService {
  private readonly log = new Logger('gateway.feedback');
  private readonly publisher: CoalescingPublisher<typeof Topic.feedback>;
  // Label children resolved once: prom-client hashes the label set on every
  // observe({…}) call, which showed in the gateway's CPU profile at thousands of
  // requests/s; a child is a direct reference.
  private readonly ackSingle: ReturnType<Histogram<'form'>['labels']>;
  private readonly ackBatch: ReturnType<Histogram<'form'>['labels']>;
  private readonly acceptedByType = new Map<string, ReturnType<Counter<'type'>['labels']>>();

  constructor(
    bus: Pick<EventBus, 'publish'>,
    private readonly completions: CompletionDirectory,
    private readonly metrics: FeedbackMetrics,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.publisher = new CoalescingPublisher(bus, Topic.feedback, { onPublish: (n) => metrics.publishBatchRecords.observe(n) });
    this.ackSingle = metrics.ackSeconds.labels('single');
    this.ackBatch = metrics.ackSeconds.labels('batch');
  }

  private countAccepted(type: string): void {
    let child = this.acceptedByType.get(type);
    if (!child) {
      child = this.metrics.accepted.labels(type);
      this.acceptedByType.set(type, child);
    }
    child.inc();
  }

  /** POST /v1/feedback */
  async submit(caller: Caller, body: unknown): Promise<FeedbackAccepted> {
    const started = performance.now();
    const parsed = feedbackEventFromRequest(body, caller, this.clock());
    if (!parsed.ok) throw this.invalid(parsed.error.param, parsed.error.message);
    const ids = await this.acceptEvents(caller, [parsed.value], ['']);
    this.ackSingle.observe((performance.now() - started) / 1000);
    return { event_ids: ids };
  }

  /** POST /v1/feedback/batch (`{ events: [...] }` or a bare array): all events are accepted together or none is. */
  async submitBatch(caller: Caller, body: unknown): Promise<FeedbackAccepted> {
    const started = performance.now();
    // `{ "events": [...] }`, or the bare array for clients that post a list
    const shape = FeedbackBatchRequestSchema.safeParse(Array.isArray(body) ? { events: body } : body);
    if (!shape.success) {
      const issue = shape.error.issues[0]!;
      const param = issue.path.length ? issue.path.join('.') : 'events';
      const message = issue.code === 'too_big' ? `events: at most ${MAX_FEEDBACK_BATCH} events per batch` : `${param}: ${issue.message}`;
      throw this.invalid(param, message);
    }
    const now = this.clock();
    const events: FeedbackInput[] = [];
    const prefixes: string[] = [];
    for (const [i, item] of shape.data.events.entries()) {
      const prefix = `events[${i}].`;
      const parsed = feedbackEventFromRequest(item, caller, now, prefix);
      if (!parsed.ok) throw this.invalid(parsed.error.param, parsed.error.message);
      events.push(parsed.value);
      prefixes.push(prefix);
    }
    const ids = await this.acceptEvents(caller, events, prefixes);
    this.ackBatch.observe((performance.now() - started) / 1000);
    return { event_ids: ids };
  }

  private async acceptEvents(caller: Caller, events: FeedbackInput[], prefixes: string[]): Promise<string[]> {
    await this.checkCompletions(caller, events, prefixes);
    // Kafka key = completion id (ARCHITECTURE §3): all feedback on one completion
    // stays ordered in one partition.
    const records: BusRecord<typeof Topic.feedback>[] = events.map((e) => ({ key: e.completionId, value: e }));
    try {
      await this.publisher.publish(records);
    } catch (err) {
      if (err instanceof BusError && err.retriable) {
        this.metrics.rejected.inc({ reason: 'bus_unavailable' }, events.length);
        this.log.warn('feedback not acknowledged: bus unavailable', { events: events.length, error: err.message });
        throw GatewayError.unavailable(
          'feedback could not be stored durably right now; retry with the same event_id',
          BUS_RETRY_AFTER_SECONDS,
          'feedback_bus_unavailable',
        );
      }
      this.metrics.rejected.inc({ reason: 'error' }, events.length);
      this.log.error('feedback publish failed', err, { events: events.length });
      throw err;
    }
    for (const e of events) this.countAccepted(e.type);
    return events.map((e) => e.eventId);
  }

  private async checkCompletions(caller: Caller, events: FeedbackInput[], prefixes: string[]): Promise<void> {
    const ids = new Set<string>();
    for (const e of events) {
      ids.add(e.completionId);
      if (e.otherCompletionId) ids.add(e.otherCompletionId);
    }
    const owners = await this.completions.lookup([...ids]);
    for (const [i, e] of events.entries()) {
      const refs: Array<[string, string]> = [[e.completionId, 'completion_id']];
      if (e.otherCompletionId) refs.push([e.otherCompletionId, 'other_completion_id']);
      for (const [completionId, field] of refs) {
        const owner = owners.get(completionId);
        const param = prefixes[i] + field;
        if (!owner) {
          this.metrics.rejected.inc({ reason: 'not_found' });
          throw new GatewayError(
            404,
            'not_found_error',
            `${param}: no completion '${completionId}' (a completion served by another gateway replica may take a moment to be ingested; retry once)`,
            param,
            'completion_not_found',
            1,
          );
        }
        // Ownership is enforced only when both sides are authenticated; completions
        // served with auth disabled (embedded, single user) belong to nobody.
        if (owner.apiKeyId !== null && caller.apiKeyId !== null && owner.apiKeyId !== caller.apiKeyId) {
          this.metrics.rejected.inc({ reason: 'forbidden' });
          throw new GatewayError(403, 'permission_error', `${param}: completion '${completionId}' was not issued to this API key`, param, 'completion_not_owned');
        }
      }
      if (e.otherCompletionId) this.checkComparable(owners.get(e.completionId)!, owners.get(e.otherCompletionId)!, prefixes[i] + 'other_completion_id');
    }
  }

  /**
   * A pairwise preference is a training pair only if both answers are to the same
   * prompt: the two answers of one side-by-side request (same comparison id), or —
   * for answers requested separately — two answers to identical messages.
   */
  private checkComparable(a: CompletionOwner, b: CompletionOwner, param: string): void {
    const sameComparison = a.comparisonId !== null && a.comparisonId === b.comparisonId;
    const separateAnswersToSamePrompt = a.comparisonId === null && b.comparisonId === null && a.promptFingerprint === b.promptFingerprint;
    if (sameComparison || separateAnswersToSamePrompt) return;
    this.metrics.rejected.inc({ reason: 'invalid' });
    const why =
      a.comparisonId !== null || b.comparisonId !== null
        ? `completions '${a.completionId}' and '${b.completionId}' are not answers of the same comparison`
        : `completions '${a.completionId}' and '${b.completionId}' answer different prompts`;
    throw new GatewayError(400, 'invalid_request_error', `${param}: ${why}; a pairwise preference compares two answers to one prompt`, param, 'completions_not_comparable');
  }

  private invalid(param: string, message: string): GatewayError {
    this.metrics.rejected.inc({ reason: 'invalid' });
    // 400 like every validation error of the API (OpenAI's convention; chat's too)
    return GatewayError.invalid(param, message);
  }

  /** for the benchmark and tests: how well concurrent requests coalesce */
  get publishStats(): { publishCalls: number; records: number } {
    return { ...this.publisher.stats };
  }
}
