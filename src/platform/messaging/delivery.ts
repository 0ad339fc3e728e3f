// Consumer-side delivery semantics shared by the Kafka and the embedded adapter, so
// both behave identically under the contract tests (event-bus.ts describes them):
//   1. decode + validate every record; malformed ones are dead-lettered with the
//      reason and never reach the handler;
//   2. hand the valid ones to the handler; a retriable error retries the same batch
//      with exponential backoff (the partition waits, nothing is skipped);
//   3. messages the handler rejects go to the DLQ;
//   4. only then may the caller commit the offsets.
// A handler error that does not say it is retriable (a bug, a poison message) is
// retried a few times, then the batch is split and retried message by message, so
// one poison message is dead-lettered alone instead of taking its batch with it.
import type { Logger } from '../logging/logger.js';
import type { BatchHandler, BusMessage } from './event-bus.js';
import { BusError } from './event-bus.js';
import { EVENT_VERSION, type DeadLetter, type TopicName, validateEvent } from './events.js';

/** A record as read from the log, before decoding. */
export interface RawRecord {
  key: string | null;
  /** the bytes as received, UTF-8 decoded; null for a Kafka tombstone */
  raw: string | null;
  partition: number;
  offset: string;
}

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 200, maxMs: 10_000 };

/** Why a record went to the DLQ: it failed to decode or validate, the handler rejected it, or the handler kept throwing on it. */
export type DeadLetterCause = 'malformed' | 'rejected' | 'handler_failed';

/** Told about every letter the bus durably wrote (the process's metrics count them). */
export interface DeadLetterObserver {
  /** a subscription to `topic` started: start its counts at zero, so the first letter is an increase */
  watching(topic: TopicName): void;
  deadLettered(topic: TopicName, cause: DeadLetterCause, count: number): void;
}

export interface DeliveryContext<T extends TopicName> {
  /** the logical topic (schemas are looked up by it; the DLQ letter names it) */
  topic: T;
  handler: BatchHandler<T>;
  logger: Logger;
  /** durably append letters to `<topic>.dlq`; must reject if it could not */
  deadLetter(letters: DeadLetter[], keys: Array<string | null>): Promise<void>;
  /** false once the subscription is stopping or lost its partitions: give up without committing */
  shouldContinue(): boolean;
  /** keep group membership alive during long retries (Kafka) */
  heartbeat?(): Promise<void>;
  backoff?: BackoffPolicy;
  /** attempts for errors not marked retriable before isolating message by message (default 3) */
  maxNonRetriableAttempts?: number;
  observer?: DeadLetterObserver;
}

/** kafkajs' habit (KafkaJSError.retriable), also used by BusError and DatabaseConnectError */
export function isRetriable(err: unknown): boolean {
  if (err instanceof BusError) return err.retriable;
  return typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Exponential backoff with jitter in the upper half, so retries of several consumers spread out. */
export function backoffDelay(policy: BackoffPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Sleep in slices, heartbeating and checking for a stop between them. Returns false when asked to stop. */
async function pause<T extends TopicName>(ctx: DeliveryContext<T>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!ctx.shouldContinue()) return false;
    await new Promise((r) => setTimeout(r, Math.min(500, until - Date.now())));
    if (ctx.heartbeat) await ctx.heartbeat();
  }
  return ctx.shouldContinue();
}

export function decodeRecord<T extends TopicName>(
  topic: T,
  record: RawRecord,
): { ok: true; message: BusMessage<T> } | { ok: false; reason: string } {
  if (record.raw === null) return { ok: false, reason: 'empty message (null value)' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.raw);
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${(err as Error).message}` };
  }
  const v = validateEvent(topic, parsed);
  if (!v.ok) return { ok: false, reason: `schema violation: ${v.reason}` };
  return { ok: true, message: { topic, key: record.key, value: v.value, partition: record.partition, offset: record.offset } };
}

export function deadLetterFor(topic: string, record: RawRecord, reason: string): DeadLetter {
  return {
    v: EVENT_VERSION,
    sourceTopic: topic,
    key: record.key,
    raw: record.raw ?? '',
    reason,
    partition: record.partition,
    offset: record.offset,
    rejectedAt: new Date().toISOString(),
  };
}

/** Append letters, retrying while the bus is unavailable. False when stopped before it succeeded. */
async function deadLetterWithRetry<T extends TopicName>(ctx: DeliveryContext<T>, letters: DeadLetter[], cause: DeadLetterCause): Promise<boolean> {
  const policy = ctx.backoff ?? DEFAULT_BACKOFF;
  for (let attempt = 1; ; attempt++) {
    try {
      await ctx.deadLetter(letters, letters.map((l) => l.key));
      ctx.observer?.deadLettered(ctx.topic, cause, letters.length);
      for (const l of letters) {
        ctx.logger.warn('event dead-lettered', { topic: ctx.topic, partition: l.partition, offset: l.offset, reason: l.reason });
      }
      return true;
    } catch (err) {
      const delay = backoffDelay(policy, attempt);
      ctx.logger.warn('dead-letter write failed; retrying', { topic: ctx.topic, attempt, retryInMs: delay, error: describe(err) });
      if (!(await pause(ctx, delay))) return false;
    }
  }
}

/**
 * Deliver one batch. Resolves true when every record was either handled or
 * dead-lettered (the caller may commit past the last one), false when the
 * subscription stopped first (the caller must not commit; the records come again).
 */
export async function deliverBatch<T extends TopicName>(ctx: DeliveryContext<T>, records: RawRecord[]): Promise<boolean> {
  const valid: BusMessage<T>[] = [];
  const letters: DeadLetter[] = [];
  // letters carry the bytes as received, not a re-serialization of the parsed event
  const rawByPosition = new Map<string, RawRecord>();
  for (const record of records) {
    const decoded = decodeRecord(ctx.topic, record);
    if (decoded.ok) {
      valid.push(decoded.message);
      rawByPosition.set(`${record.partition}:${record.offset}`, record);
    }
    else letters.push(deadLetterFor(ctx.topic, record, decoded.reason));
  }
  if (letters.length > 0 && !(await deadLetterWithRetry(ctx, letters, 'malformed'))) return false;
  if (valid.length === 0) return true;
  return handleWithRetry(ctx, valid, rawByPosition);
}

async function handleWithRetry<T extends TopicName>(
  ctx: DeliveryContext<T>,
  messages: BusMessage<T>[],
  rawByPosition: Map<string, RawRecord>,
): Promise<boolean> {
  const rawOf = (m: BusMessage<T>): RawRecord =>
    rawByPosition.get(`${m.partition}:${m.offset}`) ?? { key: m.key, raw: JSON.stringify(m.value), partition: m.partition, offset: m.offset };
  const policy = ctx.backoff ?? DEFAULT_BACKOFF;
  const maxNonRetriable = ctx.maxNonRetriableAttempts ?? 3;
  let nonRetriableFailures = 0;
  for (let attempt = 1; ; attempt++) {
    if (!ctx.shouldContinue()) return false;
    let outcome: Awaited<ReturnType<BatchHandler<T>>>;
    try {
      outcome = await ctx.handler(messages);
    } catch (err) {
      const first = messages[0]!;
      const where = { topic: ctx.topic, partition: first.partition, fromOffset: first.offset, count: messages.length, attempt };
      if (isRetriable(err)) {
        // e.g. the database is down: waiting is the only correct move; skipping would lose events
        const delay = backoffDelay(policy, attempt);
        ctx.logger.warn('handler failed (retriable); retrying the same batch', { ...where, retryInMs: delay, error: describe(err) });
        if (!(await pause(ctx, delay))) return false;
        continue;
      }
      nonRetriableFailures++;
      if (nonRetriableFailures < maxNonRetriable) {
        const delay = backoffDelay(policy, attempt);
        ctx.logger.warn('handler failed (not marked retriable); retrying', { ...where, retryInMs: delay, error: describe(err) });
        if (!(await pause(ctx, delay))) return false;
        continue;
      }
      if (messages.length > 1) {
        ctx.logger.warn('handler keeps failing; isolating the batch message by message', { ...where, error: describe(err) });
        for (const m of messages) {
          if (!(await handleWithRetry(ctx, [m], rawByPosition))) return false;
        }
        return true;
      }
      ctx.logger.error('handler keeps failing on one message; dead-lettering it', err, where);
      return deadLetterWithRetry(ctx, [
        deadLetterFor(ctx.topic, rawOf(first), `handler failed: ${describe(err)}`),
      ], 'handler_failed');
    }
    const rejected = outcome?.rejected ?? [];
    if (rejected.length === 0) return true;
    const byPosition = new Map(messages.map((m) => [`${m.partition}:${m.offset}`, m]));
    const letters: DeadLetter[] = [];
    for (const r of rejected) {
      const m = byPosition.get(`${r.partition}:${r.offset}`);
      if (!m) {
        // A handler bug; the batch is still complete, so log loudly rather than stall the partition.
        ctx.logger.error('handler rejected a message that is not in its batch; ignored', undefined, { topic: ctx.topic, ...r });
        continue;
      }
      letters.push(deadLetterFor(ctx.topic, rawOf(m), `rejected by handler: ${r.reason}`));
    }
    if (letters.length === 0) return true;
    return deadLetterWithRetry(ctx, letters, 'rejected');
  }
}

/** Split into consecutive chunks of at most `size`. */
export function chunk<T>(items: T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`maxBatchSize must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Parse a dead letter read back from a DLQ; null if it is not one. */
export function parseDeadLetter(raw: string | null): DeadLetter | null {
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as Partial<DeadLetter>;
    if (typeof v !== 'object' || v === null || typeof v.sourceTopic !== 'string' || typeof v.reason !== 'string' || typeof v.raw !== 'string') return null;
    return v as DeadLetter;
  } catch {
    // not JSON: the caller logs it as an unreadable dead letter
    return null;
  }
}

/** A publish of an event that does not match its schema: a programming error, never retriable. */
export class InvalidEventError extends BusError {
  constructor(message: string) {
    super(message, false);
    this.name = 'InvalidEventError';
  }
}

/**
 * Validate records before producing; throws InvalidEventError naming the record and
 * each offending field. Returns the serialized events (schema defaults applied, so
 * every consumer sees the same bytes).
 */
export function encodeForPublish<T extends TopicName>(
  topic: T,
  records: Array<{ key: string; value: unknown }>,
): Array<{ key: string; value: string }> {
  return records.map((r, i) => {
    if (typeof r.key !== 'string' || r.key.length === 0) {
      throw new InvalidEventError(`invalid ${topic} event at records[${i}]: key: must be a non-empty string`);
    }
    const v = validateEvent(topic, r.value);
    if (!v.ok) throw new InvalidEventError(`invalid ${topic} event at records[${i}]: ${v.reason}`);
    return { key: r.key, value: JSON.stringify(v.value) };
  });
}
