// The two ingest handlers: `outerloop.completions` → completions and
// `outerloop.feedback` → feedback_events. Both are idempotent batch upserts; the
// bus commits a batch's offsets only after the handler resolved, so a crash
// between the write and the commit redelivers the batch and the upsert ignores it
// (at-least-once + idempotent write = exactly-once effect, ARCHITECTURE §3).
//
// Feedback vs. completions race. Both topics are consumed independently, and
// feedback_events.completion_id is a real foreign key (a feedback row about a
// completion the platform never served is meaningless for training). The gateway
// checked that the completion exists before acknowledging, so a feedback event
// whose completion is not persisted yet is almost always one whose completion is
// still in flight on the completions topic. Such events are held back: the rest of
// the batch is written, then the handler throws a RetriableHandlerError so the bus
// redelivers the batch after a backoff (the written part is then a no-op). An event
// still unmatched `completionGraceMs` after this process first saw it is
// dead-lettered with the reason, so a genuinely orphaned event cannot stall its
// partition forever. The grace clock starts at first sight, not at the event's
// createdAt, so catching up on an old backlog does not dead-letter valid feedback.
import type { BatchOutcome, BusMessage } from '../../platform/messaging/event-bus.js';
import { RetriableHandlerError } from '../../platform/messaging/event-bus.js';
import { Topic } from '../../platform/messaging/events.js';
import { Logger } from '../../platform/logging/logger.js';
import type { IngestMetrics } from './ingest.metrics.js';
import type { IngestRepository } from './ingest.repository.js';

export interface FeedbackConsumerOptions {
  /** how long a feedback event may wait for its completion before it is dead-lettered */
  completionGraceMs: number;
  now?: () => number;
}

/** Wrap a database failure so the bus retries the batch (with backoff) instead of dead-lettering it. */
async function retriableOnDatabaseError<T>(topic: string, metrics: IngestMetrics, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    metrics.retries.inc({ topic, reason: 'database' });
    throw new RetriableHandlerError(`database write for ${topic} failed: ${(err as Error).message}`, { cause: err });
  }
}

export class CompletionsConsumer {
  constructor(
    private readonly repository: IngestRepository,
    private readonly metrics: IngestMetrics,
  ) {}

  readonly handleBatch = async (messages: BusMessage<typeof Topic.completions>[]): Promise<BatchOutcome> => {
    const topic = Topic.completions;
    const timer = this.metrics.batchSeconds.startTimer({ topic });
    const events = messages.map((m) => m.value);
    const counts = await retriableOnDatabaseError(topic, this.metrics, () => this.repository.insertCompletions(events));
    timer();
    this.metrics.events.inc({ topic, outcome: 'inserted' }, counts.inserted);
    if (counts.duplicates) this.metrics.events.inc({ topic, outcome: 'duplicate' }, counts.duplicates);
    return {};
  };
}

export class FeedbackConsumer {
  private readonly log = new Logger('ingest.feedback');
  /** eventId → when this process first saw it unmatched (ms) */
  private readonly pendingSince = new Map<string, number>();
  private readonly now: () => number;

  constructor(
    private readonly repository: IngestRepository,
    private readonly metrics: IngestMetrics,
    private readonly options: FeedbackConsumerOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  readonly handleBatch = async (messages: BusMessage<typeof Topic.feedback>[]): Promise<BatchOutcome> => {
    const topic = Topic.feedback;
    const timer = this.metrics.batchSeconds.startTimer({ topic });
    const now = this.now();
    this.forgetStalePending(now);
    const existing = await retriableOnDatabaseError(topic, this.metrics, () =>
      this.repository.existingCompletionIds(messages.map((m) => m.value.completionId)),
    );
    const ready: BusMessage<typeof Topic.feedback>[] = [];
    const waiting: BusMessage<typeof Topic.feedback>[] = [];
    const rejected: NonNullable<BatchOutcome['rejected']> = [];
    for (const m of messages) {
      if (existing.has(m.value.completionId)) {
        ready.push(m);
        continue;
      }
      const since = this.pendingSince.get(m.value.eventId) ?? now;
      this.pendingSince.set(m.value.eventId, since);
      if (now - since >= this.options.completionGraceMs) {
        rejected.push({
          partition: m.partition,
          offset: m.offset,
          reason: `unknown completion: completionId '${m.value.completionId}' not persisted ${Math.round((now - since) / 1000)}s after the feedback was first seen`,
        });
      } else {
        waiting.push(m);
      }
    }

    const counts = await retriableOnDatabaseError(topic, this.metrics, () => this.repository.insertFeedback(ready.map((m) => m.value)));
    for (const m of ready) this.pendingSince.delete(m.value.eventId);
    this.metrics.events.inc({ topic, outcome: 'inserted' }, counts.inserted);
    if (counts.duplicates) this.metrics.events.inc({ topic, outcome: 'duplicate' }, counts.duplicates);
    this.metrics.waitingForCompletion.set(new Set(waiting.map((m) => m.value.eventId)).size);

    if (waiting.length > 0) {
      // The ready part is durable; redelivery of the whole batch rewrites nothing.
      // Rejections are decided again on redelivery (their grace has expired by then too).
      this.metrics.retries.inc({ topic, reason: 'completion_pending' });
      timer();
      throw new RetriableHandlerError(
        `${waiting.length} feedback event(s) wait for their completion to be ingested (first: ${waiting[0]!.value.completionId})`,
      );
    }
    for (const m of messages) if (!existing.has(m.value.completionId)) this.pendingSince.delete(m.value.eventId);
    if (rejected.length) {
      this.metrics.events.inc({ topic, outcome: 'dead_lettered' }, rejected.length);
      this.metrics.deadLettered.inc({ topic, reason: 'unknown_completion' }, rejected.length);
      this.log.warn('feedback dead-lettered: completion unknown after grace period', { count: rejected.length, first: rejected[0]!.reason });
    }
    timer();
    return { rejected };
  };

  /**
   * An event held back here may never be redelivered to this process (its partition
   * moved to another consumer after a rebalance): forget entries far past their grace
   * so the map stays bounded. Forgetting only restarts that event's grace period.
   */
  private forgetStalePending(now: number): void {
    if (this.pendingSince.size < 10_000) return;
    const horizon = now - 10 * Math.max(this.options.completionGraceMs, 1000);
    for (const [eventId, since] of this.pendingSince) if (since < horizon) this.pendingSince.delete(eventId);
  }

  /** events currently held back waiting for their completion */
  get pendingCount(): number {
    return this.pendingSince.size;
  }
}
