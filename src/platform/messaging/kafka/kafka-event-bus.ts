// The distributed-mode EventBus on Apache Kafka (kafkajs 2.2.4). Semantics are the
// port's (event-bus.ts); consumer-side decisions live in ../delivery.ts so that this
// adapter and the embedded one cannot drift apart.
//
// Producer: idempotent, acks=-1 (all in-sync replicas), one request in flight per
// broker — an acknowledged event survives a broker loss and a retried send is not
// duplicated or reordered by the broker (KIP-98 idempotent producer).
// Consumer: eachBatch with eachBatchAutoResolve=false; an offset is resolved and
// committed only after the handler (or the DLQ write) for it resolved, so a crash at
// any point redelivers rather than loses (at-least-once; handlers upsert by event id).
import kafkajs from 'kafkajs';
import type { Admin, Consumer, EachBatchPayload, Kafka as KafkaClient, LogEntry, Producer } from 'kafkajs';
import { Logger } from '../../logging/logger.js';
import {
  BusError,
  BusUnavailableError,
  type BusRecord,
  type DeadLetterMessage,
  type DeadLetterReader,
  type DeadLetterSubscribeOptions,
  type EventBus,
  type SubscribeOptions,
  type Subscription,
} from '../event-bus.js';
import { ALL_TOPICS, deadLetterTopic, type DeadLetter, type TopicName } from '../events.js';
import {
  type BackoffPolicy,
  type DeadLetterObserver,
  backoffDelay,
  chunk,
  DEFAULT_BACKOFF,
  deliverBatch,
  encodeForPublish,
  parseDeadLetter,
  type RawRecord,
} from '../delivery.js';

const { Kafka, Partitioners, logLevel: KafkaLogLevel } = kafkajs;

/** consumer fetch: answer once this much is available… (~100 feedback events) */
const FETCH_MIN_BYTES = 32 * 1024;
/** …or after this long, whichever comes first */
const FETCH_MAX_WAIT_MS = 50;

export interface KafkaEventBusOptions {
  brokers: string[];
  clientId: string;
  /** prepended to every topic and consumer group: isolates tests and tenants on one cluster */
  topicPrefix?: string;
  /** partitions for topics this bus creates (default 3) */
  numPartitions?: number;
  replicationFactor?: number;
  /** start(): give up after this many connect attempts (default: keep trying until close()) */
  maxStartAttempts?: number;
  /** backoff for start() and for retrying handlers */
  backoff?: BackoffPolicy;
  /** default upper bound of messages per handleBatch call (default 500) */
  maxBatchSize?: number;
  /** consumer session timeout; a SIGKILLed consumer's partitions move after it (default 10 s) */
  sessionTimeoutMs?: number;
  logger?: Logger;
  /** counts dead letters (the process's metrics) */
  deadLetters?: DeadLetterObserver;
}

interface ActiveSubscription {
  consumer: Consumer;
  readonly stopped: boolean;
  stop(): Promise<void>;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** The producer's idempotence state no longer matches the broker's (kafkajs issue #598). */
function producerSequenceLost(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const type = (e as { type?: unknown }).type;
    if (type === 'OUT_OF_ORDER_SEQUENCE_NUMBER' || type === 'UNKNOWN_PRODUCER_ID' || type === 'INVALID_PRODUCER_EPOCH') return true;
    if (/out of order sequence number/i.test((e as Error).message ?? '')) return true;
  }
  return false;
}

export class KafkaEventBus implements EventBus, DeadLetterReader {
  private readonly kafka: KafkaClient;
  private producer: Producer;
  private producerReset: Promise<void> | null = null;
  private producerNeedsReset = false;
  /** subscriptions kafkajs gave up on (see runConsumer) */
  private readonly deadSubscriptions = new Set<string>();
  private readonly admin: Admin;
  private readonly log: Logger;
  private readonly prefix: string;
  private readonly backoff: BackoffPolicy;
  private readonly subscriptions = new Set<ActiveSubscription>();
  private startPromise: Promise<void> | null = null;
  private started = false;
  private closing = false;
  private closed = false;
  private wakeStartWaiter: (() => void) | null = null;

  constructor(private readonly options: KafkaEventBusOptions) {
    if (options.brokers.length === 0) throw new BusError('kafka brokers: at least one host:port is required', false);
    this.log = options.logger ?? new Logger('bus.kafka');
    this.prefix = options.topicPrefix ?? '';
    this.backoff = options.backoff ?? { initialMs: 250, maxMs: 10_000 };
    const log = this.log;
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      connectionTimeout: 3000,
      requestTimeout: 15_000,
      // kafkajs' own retries for one request; start() and the delivery loop add the
      // long waits on top, with logs saying what they wait for
      retry: { initialRetryTime: 200, maxRetryTime: 5000, retries: 5 },
      logLevel: KafkaLogLevel.WARN,
      logCreator: () => (entry: LogEntry) => {
        const { message, ...fields } = entry.log;
        // Expected: we cap the idempotent producer's retries so publish() can report
        // BusUnavailableError instead of hanging forever; a duplicate that a retry
        // after the cap might cause is absorbed by the consumers' upserts by event id.
        if (message.startsWith('Limiting retries for the idempotent producer')) return;
        const { stack: _stack, ...rest } = fields as Record<string, unknown>;
        const where = { kafkajs: entry.namespace, ...rest };
        // Connection-level chatter repeats on every internal retry; start() and the
        // delivery loop log one line per wait that says what they wait for.
        const chatter = entry.namespace === 'Connection' || entry.namespace === 'BrokerPool';
        if (entry.level <= KafkaLogLevel.WARN && !chatter) log.warn(`kafkajs: ${message}`, where);
        else log.debug(`kafkajs: ${message}`, where);
      },
    });
    this.producer = this.createProducer();
    this.admin = this.kafka.admin();
  }

  /** the topic on the wire */
  physicalTopic(topic: string): string {
    return `${this.prefix}${topic}`;
  }

  start(): Promise<void> {
    if (this.closed || this.closing) return Promise.reject(new BusError('kafka bus: start() after close()', false));
    this.startPromise ??= this.connectWithRetry().catch((err: unknown) => {
      this.startPromise = null; // a later start() may try again
      throw err;
    });
    return this.startPromise;
  }

  private async connectWithRetry(): Promise<void> {
    const target = this.options.brokers.join(',');
    for (let attempt = 1; ; attempt++) {
      if (this.closing) throw new BusError('kafka bus closed while starting', false);
      try {
        await this.admin.connect();
        await this.ensureTopics();
        await this.producer.connect();
        this.started = true;
        this.log.info('kafka bus ready', { brokers: target, topicPrefix: this.prefix, attempt });
        return;
      } catch (err) {
        if (this.closing) throw new BusError('kafka bus closed while starting', false, { cause: err });
        if (this.options.maxStartAttempts !== undefined && attempt >= this.options.maxStartAttempts) {
          throw new BusUnavailableError(`kafka ${target} unreachable after ${attempt} attempts: ${describe(err)}`, { cause: err });
        }
        const delay = backoffDelay(this.backoff, attempt);
        this.log.warn('waiting for kafka', { brokers: target, attempt, retryInMs: delay, error: describe(err) });
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          this.wakeStartWaiter = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wakeStartWaiter = null;
      }
    }
  }

  /** Every topic and its DLQ exist before anyone produces: auto-creation would pick broker defaults. */
  private async ensureTopics(): Promise<void> {
    const wanted = ALL_TOPICS.flatMap((t) => [this.physicalTopic(t), this.physicalTopic(deadLetterTopic(t))]);
    const existing = new Set(await this.admin.listTopics());
    const missing = wanted.filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    this.log.info('creating topics', { topics: missing });
    await this.admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: this.options.numPartitions ?? 3,
        replicationFactor: this.options.replicationFactor ?? 1,
      })),
    });
  }

  private assertStarted(what: string): void {
    if (this.closed) throw new BusError(`kafka bus: ${what} after close()`, false);
    if (!this.started) throw new BusUnavailableError(`kafka bus: ${what} before start() completed`);
  }

  async publish<T extends TopicName>(topic: T, records: BusRecord<T>[]): Promise<void> {
    if (records.length === 0) return;
    const messages = encodeForPublish(topic, records); // throws InvalidEventError naming the field
    this.assertStarted('publish');
    await this.send(this.physicalTopic(topic), messages);
  }

  async publishRaw(topic: TopicName, key: string | null, raw: string): Promise<void> {
    this.assertStarted('publishRaw');
    await this.send(this.physicalTopic(topic), [{ key, value: raw }]);
  }

  private createProducer(): Producer {
    return this.kafka.producer({
      // named explicitly (it is kafkajs 2's default): murmur2 on the key, the same
      // key → partition mapping as the Java client, so every producer agrees
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 200, maxRetryTime: 3000, retries: 6 },
    });
  }

  /**
   * kafkajs' idempotent producer does not recover from a sequence desync (e.g.
   * after a broker restart it answers OUT_OF_ORDER_SEQUENCE_NUMBER to every later
   * send, forever — kafkajs issue #598). The Java client bumps the producer epoch
   * (KAFKA-12152); the kafkajs equivalent is a fresh producer, which gets a new
   * producer id and restarts its sequences. A message whose earlier attempt did land
   * may be written again: consumers upsert by event id, so that is harmless.
   */
  private resetProducer(reason: string): Promise<void> {
    this.producerReset ??= (async () => {
      this.log.warn('recreating the kafka producer (idempotent sequence lost)', { reason });
      const old = this.producer;
      this.producer = this.createProducer();
      this.producerNeedsReset = true;
      await old.disconnect().catch((e: unknown) => this.log.warn('disconnecting the old producer', { error: describe(e) }));
      await this.producer.connect();
      this.producerNeedsReset = false;
    })().finally(() => {
      this.producerReset = null;
    });
    return this.producerReset;
  }

  private async send(physical: string, messages: Array<{ key: string | null; value: string }>): Promise<void> {
    try {
      if (this.producerReset) await this.producerReset;
      // a reset whose connect failed (broker still down) is redone before sending:
      // the fresh producer is not connected, and kafkajs would only say "disconnected"
      if (this.producerNeedsReset) await this.resetProducer('the previous producer reset did not complete');
      await this.producer.send({ topic: physical, acks: -1, messages });
    } catch (err) {
      if (producerSequenceLost(err)) {
        await this.resetProducer(describe(err)).catch((e: unknown) => this.log.warn('producer reset failed; retried on the next send', { error: describe(e) }));
      }
      // Whatever kafkajs says (retries exhausted, broker gone, timeout), the events
      // are not known to be durable: the caller must not acknowledge, and may retry.
      throw new BusUnavailableError(`kafka publish to ${physical} failed: ${describe(err)}`, { cause: err });
    }
  }

  private async writeDeadLetters(topic: TopicName, letters: DeadLetter[]): Promise<void> {
    await this.send(
      this.physicalTopic(deadLetterTopic(topic)),
      letters.map((l) => ({ key: l.key, value: JSON.stringify(l) })),
    );
  }

  async subscribe<T extends TopicName>(options: SubscribeOptions<T>): Promise<Subscription> {
    const maxBatchSize = options.maxBatchSize ?? this.options.maxBatchSize ?? 500;
    chunk([], maxBatchSize); // validates maxBatchSize before connecting anything
    this.options.deadLetters?.watching(options.topic);
    return this.runConsumer(options.topic, options.groupId, options.fromBeginning ?? true, async (payload, sub) => {
      const { batch } = payload;
      const records: RawRecord[] = batch.messages.map((m) => ({
        key: m.key === null ? null : m.key.toString('utf8'),
        raw: m.value === null ? null : m.value.toString('utf8'),
        partition: batch.partition,
        offset: m.offset,
      }));
      for (const part of chunk(records, maxBatchSize)) {
        const delivered = await deliverBatch(
          {
            topic: options.topic,
            handler: options.handleBatch,
            logger: this.log,
            deadLetter: (letters) => this.writeDeadLetters(options.topic, letters),
            shouldContinue: () => !sub.stopped && payload.isRunning() && !payload.isStale(),
            heartbeat: () => payload.heartbeat(),
            backoff: this.options.backoff ?? DEFAULT_BACKOFF,
            observer: this.options.deadLetters,
          },
          part,
        );
        // not delivered = stopping or rebalanced: leave the offset where it is, the
        // records come again to whoever owns the partition next
        if (!delivered) return;
        payload.resolveOffset(part[part.length - 1]!.offset);
        await payload.commitOffsetsIfNecessary();
        await payload.heartbeat();
      }
    });
  }

  async subscribeDeadLetters(options: DeadLetterSubscribeOptions): Promise<Subscription> {
    return this.runConsumer(deadLetterTopic(options.topic), options.groupId, options.fromBeginning ?? true, async (payload, sub) => {
      const { batch } = payload;
      const letters: DeadLetterMessage[] = [];
      for (const m of batch.messages) {
        const letter = parseDeadLetter(m.value === null ? null : m.value.toString('utf8'));
        if (letter) letters.push({ key: m.key?.toString('utf8') ?? null, letter, partition: batch.partition, offset: m.offset });
        else this.log.error('unreadable dead letter skipped', undefined, { topic: batch.topic, partition: batch.partition, offset: m.offset });
      }
      for (let attempt = 1; letters.length > 0; attempt++) {
        if (sub.stopped || !payload.isRunning() || payload.isStale()) return;
        try {
          await options.handleBatch(letters);
          break;
        } catch (err) {
          const delay = backoffDelay(this.backoff, attempt);
          this.log.warn('dead-letter handler failed; retrying', { topic: batch.topic, attempt, retryInMs: delay, error: describe(err) });
          await new Promise((r) => setTimeout(r, delay));
          await payload.heartbeat();
        }
      }
      const last = batch.messages[batch.messages.length - 1];
      if (last) payload.resolveOffset(last.offset);
      await payload.commitOffsetsIfNecessary();
    });
  }

  private async runConsumer(
    logicalTopic: string,
    groupId: string,
    fromBeginning: boolean,
    eachBatch: (payload: EachBatchPayload, sub: ActiveSubscription) => Promise<void>,
  ): Promise<Subscription> {
    this.assertStarted('subscribe');
    const physical = this.physicalTopic(logicalTopic);
    const group = `${this.prefix}${groupId}`;
    const state = { stopped: false };
    const consumer = this.kafka.consumer({
      groupId: group,
      sessionTimeout: this.options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: 1000,
      allowAutoTopicCreation: false,
      // Let a fetch wait up to FETCH_MAX_WAIT_MS for FETCH_MIN_BYTES instead of
      // returning at the first message (kafkajs' minBytes 1): under a steady stream
      // of small produces (single-event feedback) each handler call then carries
      // tens of events instead of a handful, so the consumer pays one database
      // transaction per ~hundred events, not per publish. Costs at most
      // FETCH_MAX_WAIT_MS of extra ingest lag when traffic is a trickle.
      minBytes: FETCH_MIN_BYTES,
      maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
      // kafkajs restarts a consumer after a retriable crash when this says so
      retry: {
        initialRetryTime: 300,
        maxRetryTime: 10_000,
        retries: 10,
        restartOnFailure: async (err: Error) => {
          // never after stop()/close(): a consumer restarted then would run (and keep
          // the process alive) with nobody left to stop it
          const restart = !this.closing && !this.closed && !state.stopped;
          if (restart) this.log.error('consumer crashed; restarting', err, { topic: physical, groupId: group });
          else this.log.info('consumer stopped with an error after stop/close; not restarting', { topic: physical, groupId: group, error: describe(err) });
          return restart;
        },
      },
    });
    const sub: ActiveSubscription = {
      consumer,
      get stopped() {
        return state.stopped;
      },
      stop: async () => {
        if (state.stopped) return;
        state.stopped = true;
        this.subscriptions.delete(sub);
        // disconnect() waits for the batch in flight; committed offsets are already
        // written chunk by chunk (autoCommitThreshold 1)
        await consumer.disconnect();
        this.log.info('subscription stopped', { topic: physical, groupId: group });
      },
    };
    // kafkajs restarts a crashed consumer only for retriable errors; any other crash
    // ends the subscription. That must not go unnoticed: log it and report not ready.
    consumer.on(consumer.events.CRASH, (event) => {
      if (event.payload.restart || state.stopped || this.closing || this.closed) return;
      this.deadSubscriptions.add(`${group}@${physical}`);
      this.log.error('subscription died (non-retriable consumer crash); the bus reports not ready', event.payload.error, { topic: physical, groupId: group });
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [physical], fromBeginning });
      await consumer.run({
        autoCommit: true,
        // commitOffsetsIfNecessary() commits as soon as one offset is resolved, i.e.
        // right after each handled chunk — not on a timer that a SIGKILL would beat
        autoCommitThreshold: 1,
        autoCommitInterval: null,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: (payload) => eachBatch(payload, sub),
      });
    } catch (err) {
      await consumer.disconnect().catch((e: unknown) => this.log.warn('consumer disconnect after failed subscribe', { error: describe(e) }));
      throw new BusUnavailableError(`kafka subscribe to ${physical} (group ${group}) failed: ${describe(err)}`, { cause: err });
    }
    this.subscriptions.add(sub);
    this.log.info('subscribed', { topic: physical, groupId: group });
    return { stop: () => sub.stop() };
  }

  async isReady(): Promise<boolean> {
    if (!this.started || this.closing) return false;
    if (this.deadSubscriptions.size > 0) return false;
    try {
      // a metadata round trip: the producer's connection alone does not notice a dead broker
      await Promise.race([
        this.admin.describeCluster(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 2000 ms')), 2000).unref()),
      ]);
      return true;
    } catch (err) {
      this.log.debug('kafka readiness probe failed', { error: describe(err) });
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    this.wakeStartWaiter?.();
    const failures: unknown[] = [];
    await Promise.all(
      [...this.subscriptions].map((s) =>
        s.stop().catch((err: unknown) => {
          failures.push(err);
          this.log.error('stopping a subscription', err);
        }),
      ),
    );
    if (this.startPromise) await this.startPromise.catch(() => undefined); // its failure was already reported to start()'s caller
    for (const client of [this.producer, this.admin]) {
      await client.disconnect().catch((err: unknown) => {
        failures.push(err);
        this.log.error('disconnecting from kafka', err);
      });
    }
    this.started = false;
    this.closed = true;
    this.closing = false;
    if (failures.length > 0) this.log.warn('kafka bus closed with errors', { errors: failures.length });
    else this.log.info('kafka bus closed');
  }
}
