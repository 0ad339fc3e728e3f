// The EventBus port. Two adapters implement it — Kafka (kafkajs) for the
// distributed mode and a database-persisted log for the embedded mode — and one
// contract test suite runs unchanged against both (tests/integration/messaging).
//
// Semantics both adapters guarantee:
//  - publish() resolves only once the events are durable (Kafka acks=all with an
//    idempotent producer; embedded: committed in the database). It rejects with a
//    retriable BusUnavailableError otherwise — callers must not acknowledge.
//  - Events are validated against their topic's schema when produced (a bad event
//    is a programming error: publish throws) and when consumed (a malformed event
//    goes to `<topic>.dlq` with the reason; the handler never sees it).
//  - Consumers are at-least-once: a batch's offsets are committed only after the
//    handler resolved. Handlers must be idempotent (upsert by event id).
//  - A handler that throws a retriable error is retried with backoff; one that
//    rejects individual messages as non-retriable sends them to the DLQ and the
//    partition moves on.
import type { DeadLetter, EventInput, EventOf, TopicName } from './events.js';

export interface BusRecord<T extends TopicName> {
  key: string;
  value: EventInput<T>;
}

export interface BusMessage<T extends TopicName> {
  topic: T;
  key: string | null;
  value: EventOf<T>;
  partition: number;
  offset: string;
}

/** A handler's verdict on single messages it cannot process, ever. */
export interface BatchOutcome {
  rejected?: Array<{ offset: string; partition: number; reason: string }>;
}

export type BatchHandler<T extends TopicName> = (messages: BusMessage<T>[]) => Promise<BatchOutcome | void>;

export interface SubscribeOptions<T extends TopicName> {
  topic: T;
  groupId: string;
  handleBatch: BatchHandler<T>;
  /** upper bound on messages handed to one handleBatch call */
  maxBatchSize?: number;
  /** for a new group: start at the beginning (default true) */
  fromBeginning?: boolean;
}

/** A letter read back from `<topic>.dlq` (for operators' tools, replay and tests). */
export interface DeadLetterMessage {
  key: string | null;
  letter: DeadLetter;
  partition: number;
  offset: string;
}

export interface DeadLetterSubscribeOptions {
  /** the source topic; its dead-letter topic is read */
  topic: TopicName;
  groupId: string;
  handleBatch: (letters: DeadLetterMessage[]) => Promise<void>;
  fromBeginning?: boolean;
}

export interface Subscription {
  /** stop fetching, finish the batch in flight, commit its offsets */
  stop(): Promise<void>;
}

export interface EventBus {
  /** connect with retries and backoff; logs what it waits for */
  start(): Promise<void>;
  publish<T extends TopicName>(topic: T, records: BusRecord<T>[]): Promise<void>;
  /** produce bytes as they are, skipping validation: for tests and replay tools */
  publishRaw(topic: TopicName, key: string | null, raw: string): Promise<void>;
  subscribe<T extends TopicName>(options: SubscribeOptions<T>): Promise<Subscription>;
  /** true when the bus can accept a publish right now */
  isReady(): Promise<boolean>;
  /** stop all subscriptions (committing offsets) and disconnect */
  close(): Promise<void>;
}

/** Reading dead letters back (operators' tools, replay, contract tests). Both real
 *  adapters implement it; kept apart from EventBus so test doubles need not. */
export interface DeadLetterReader {
  /** consume `<topic>.dlq`; offsets are committed after handleBatch resolves, like subscribe() */
  subscribeDeadLetters(options: DeadLetterSubscribeOptions): Promise<Subscription>;
}

export const EVENT_BUS = Symbol('EVENT_BUS');

/** Errors carry whether retrying can help (kafkajs' KafkaJSError.retriable). */
export class BusError extends Error {
  constructor(message: string, readonly retriable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BusError';
  }
}

export class BusUnavailableError extends BusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, true, options);
    this.name = 'BusUnavailableError';
  }
}

/** Thrown from a handler to say: retrying this batch can succeed (e.g. database down). */
export class RetriableHandlerError extends BusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, true, options);
    this.name = 'RetriableHandlerError';
  }
}
