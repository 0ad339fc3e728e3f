// The embedded-mode EventBus: an append-only log in the application's own database
// (SQLite by default, Postgres works too), so that `npm start` needs no broker and an
// acknowledged event survives a crash exactly as it would with Kafka.
//
//  - publish() resolves after the INSERT transaction committed (durable).
//  - Each topic is one partition (0); an event's offset is its autoincrement id.
//  - A subscription polls `id > committed` in id order, hands batches to the shared
//    delivery logic (../delivery.ts: validation → DLQ, retries, rejections), then
//    writes the group's committed id — after the handler resolved, so a crash
//    redelivers instead of losing (at-least-once, as with Kafka).
//  - A publish in this process wakes its subscribers at once; events written by
//    another process are seen at the next poll (pollIntervalMs).
//  - One consumer per group and topic at a time: there is no group coordinator to
//    split a log between several (the embedded mode runs every role in one process).
import { EventEmitter } from 'node:events';
import type { DataSource, EntityManager } from 'typeorm';
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
import { deadLetterTopic, type DeadLetter, type TopicName } from '../events.js';
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
import { BusEventEntity, BusOffsetEntity } from './bus.entities.js';
import { serializeOnSqlite } from '../../persistence/sqlite-serializer.js';

export interface EmbeddedEventBusOptions {
  /** prepended to every topic and consumer group (isolates tests sharing a database) */
  topicPrefix?: string;
  /** how often a subscriber looks for events written by other processes (default 200 ms) */
  pollIntervalMs?: number;
  /** default upper bound of messages per handleBatch call (default 500) */
  maxBatchSize?: number;
  backoff?: BackoffPolicy;
  /** start(): give up after this many attempts (default: keep trying until close()) */
  maxStartAttempts?: number;
  logger?: Logger;
  /** counts dead letters (the process's metrics) */
  deadLetters?: DeadLetterObserver;
}

/** Rows per INSERT: SQLite allows 32766 bound parameters per statement, 4 per row here. */
const INSERT_CHUNK = 500;
/**
 * Postgres hands out sequence values at INSERT time but makes rows visible at
 * COMMIT, so two concurrent publishers could commit ids 11 then 10 — a subscriber
 * that already read 11 and committed would skip 10 forever. An advisory lock held
 * until commit serializes publishers, so ids become visible in order. (SQLite's
 * single writer lock gives the same guarantee by itself.) The key is arbitrary.
 */
const PG_PUBLISH_LOCK_KEY = 7_265_001;

interface Loop {
  name: string;
  stopped: boolean;
  wake: () => void;
  done: Promise<void>;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class EmbeddedEventBus implements EventBus, DeadLetterReader {
  private readonly log: Logger;
  private readonly prefix: string;
  private readonly backoff: BackoffPolicy;
  private readonly pollIntervalMs: number;
  private readonly published = new EventEmitter();
  private readonly loops = new Set<Loop>();
  private started = false;
  private closed = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: EmbeddedEventBusOptions = {},
  ) {
    this.log = options.logger ?? new Logger('bus.embedded');
    this.prefix = options.topicPrefix ?? '';
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
    // every subscription listens; the default cap of 10 would warn in a full app
    this.published.setMaxListeners(0);
  }

  /** every database access of the bus: see sqlite-serializer.ts */
  private db<T>(work: () => Promise<T>): Promise<T> {
    return serializeOnSqlite(this.dataSource, work);
  }

  physicalTopic(topic: string): string {
    return `${this.prefix}${topic}`;
  }

  private get isPostgres(): boolean {
    return this.dataSource.options.type === 'postgres';
  }

  /** Waits until the database is initialized and migrated (the bus tables answer). */
  async start(): Promise<void> {
    if (this.closed) throw new BusError('embedded bus: start() after close()', false);
    for (let attempt = 1; !this.started; attempt++) {
      try {
        if (!this.dataSource.isInitialized) throw new BusUnavailableError('the database is not initialized yet');
        await this.db(() => this.dataSource.getRepository(BusOffsetEntity).createQueryBuilder('o').select('o.group_id').limit(1).getRawMany());
        this.started = true;
        this.log.info('embedded bus ready', { database: this.dataSource.options.type, topicPrefix: this.prefix });
      } catch (err) {
        if (this.closed) throw new BusError('embedded bus closed while starting', false, { cause: err });
        if (this.options.maxStartAttempts !== undefined && attempt >= this.options.maxStartAttempts) {
          throw new BusUnavailableError(`embedded bus: database not ready after ${attempt} attempts: ${describe(err)}`, { cause: err });
        }
        const delay = backoffDelay(this.backoff, attempt);
        this.log.warn('waiting for the database (bus tables; are migrations applied?)', { attempt, retryInMs: delay, error: describe(err) });
        await sleep(delay);
      }
    }
  }

  private assertStarted(what: string): void {
    if (this.closed) throw new BusError(`embedded bus: ${what} after close()`, false);
    if (!this.started) throw new BusUnavailableError(`embedded bus: ${what} before start() completed`);
  }

  async publish<T extends TopicName>(topic: T, records: BusRecord<T>[]): Promise<void> {
    if (records.length === 0) return;
    const messages = encodeForPublish(topic, records); // throws InvalidEventError naming the field
    this.assertStarted('publish');
    await this.append(this.physicalTopic(topic), messages);
  }

  async publishRaw(topic: TopicName, key: string | null, raw: string): Promise<void> {
    this.assertStarted('publishRaw');
    await this.append(this.physicalTopic(topic), [{ key, value: raw }]);
  }

  private async append(physical: string, messages: Array<{ key: string | null; value: string }>): Promise<void> {
    try {
      await this.db(() => this.dataSource.transaction(async (manager: EntityManager) => {
        if (this.isPostgres) await manager.query('SELECT pg_advisory_xact_lock($1)', [PG_PUBLISH_LOCK_KEY]);
        for (const part of chunk(messages, INSERT_CHUNK)) {
          await manager.insert(
            BusEventEntity,
            part.map((m) => ({ topic: physical, key: m.key, value: m.value })),
          );
        }
      }));
    } catch (err) {
      // nothing was committed (the transaction rolled back): not durable, may retry
      throw new BusUnavailableError(`embedded publish to ${physical} failed: ${describe(err)}`, { cause: err });
    }
    this.published.emit(physical);
  }

  private async writeDeadLetters(topic: TopicName, letters: DeadLetter[]): Promise<void> {
    await this.append(
      this.physicalTopic(deadLetterTopic(topic)),
      letters.map((l) => ({ key: l.key, value: JSON.stringify(l) })),
    );
  }

  async subscribe<T extends TopicName>(options: SubscribeOptions<T>): Promise<Subscription> {
    const maxBatchSize = options.maxBatchSize ?? this.options.maxBatchSize ?? 500;
    chunk([], maxBatchSize); // validates maxBatchSize
    this.options.deadLetters?.watching(options.topic);
    return this.runLoop(options.topic, options.groupId, options.fromBeginning ?? true, maxBatchSize, (records, loop) =>
      deliverBatch(
        {
          topic: options.topic,
          handler: options.handleBatch,
          logger: this.log,
          deadLetter: (letters) => this.writeDeadLetters(options.topic, letters),
          shouldContinue: () => !loop.stopped,
          backoff: this.backoff,
          observer: this.options.deadLetters,
        },
        records,
      ),
    );
  }

  async subscribeDeadLetters(options: DeadLetterSubscribeOptions): Promise<Subscription> {
    const physical = this.physicalTopic(deadLetterTopic(options.topic));
    return this.runLoop(deadLetterTopic(options.topic), options.groupId, options.fromBeginning ?? true, 500, async (records, loop) => {
      const letters: DeadLetterMessage[] = [];
      for (const r of records) {
        const letter = parseDeadLetter(r.raw);
        if (letter) letters.push({ key: r.key, letter, partition: r.partition, offset: r.offset });
        else this.log.error('unreadable dead letter skipped', undefined, { topic: physical, offset: r.offset });
      }
      for (let attempt = 1; letters.length > 0; attempt++) {
        if (loop.stopped) return false;
        try {
          await options.handleBatch(letters);
          return true;
        } catch (err) {
          const delay = backoffDelay(this.backoff, attempt);
          this.log.warn('dead-letter handler failed; retrying', { topic: physical, attempt, retryInMs: delay, error: describe(err) });
          await sleep(delay);
        }
      }
      return true;
    });
  }

  /**
   * The poll loop of one subscription. `deliver` resolves true when the records are
   * done (commit past them) and false when the loop was stopped first (do not commit).
   */
  private async runLoop(
    logicalTopic: string,
    groupId: string,
    fromBeginning: boolean,
    maxBatchSize: number,
    deliver: (records: RawRecord[], loop: Loop) => Promise<boolean>,
  ): Promise<Subscription> {
    this.assertStarted('subscribe');
    const topic = this.physicalTopic(logicalTopic);
    const group = `${this.prefix}${groupId}`;
    let committed: number;
    try {
      committed = await this.db(() => this.initialOffset(group, topic, fromBeginning));
    } catch (err) {
      throw new BusUnavailableError(`embedded subscribe to ${topic} (group ${group}) failed: ${describe(err)}`, { cause: err });
    }

    let wakeResolve: (() => void) | null = null;
    let pendingWake = false;
    const loop: Loop = {
      name: `${group}@${topic}`,
      stopped: false,
      wake: () => {
        pendingWake = true;
        wakeResolve?.();
      },
      done: Promise.resolve(),
    };
    const onPublish = () => loop.wake();
    this.published.on(topic, onPublish);

    const waitForWork = (ms: number) =>
      new Promise<void>((resolve) => {
        if (pendingWake || loop.stopped) return resolve();
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          wakeResolve = null;
          resolve();
        }
        wakeResolve = done;
      });

    const run = async () => {
      let failures = 0;
      while (!loop.stopped) {
        pendingWake = false;
        let rows: Array<{ id: string | number; key: string | null; value: string }>;
        try {
          rows = await this.db(() =>
            this.dataSource
              .getRepository(BusEventEntity)
              .createQueryBuilder('e')
              .select(['e.id', 'e.key', 'e.value'])
              .where('e.topic = :topic AND e.id > :after', { topic, after: committed })
              .orderBy('e.id', 'ASC')
              .limit(maxBatchSize)
              .getMany(),
          );
          failures = 0;
        } catch (err) {
          const delay = backoffDelay(this.backoff, ++failures);
          this.log.warn('embedded bus poll failed; retrying', { subscription: loop.name, retryInMs: delay, error: describe(err) });
          await waitForWork(delay);
          continue;
        }
        if (rows.length === 0) {
          await waitForWork(this.pollIntervalMs);
          continue;
        }
        const records: RawRecord[] = rows.map((r) => ({ key: r.key, raw: r.value, partition: 0, offset: String(r.id) }));
        if (!(await deliver(records, loop))) break;
        const last = Number(rows[rows.length - 1]!.id);
        await this.commit(group, topic, last, loop);
        committed = last;
      }
    };
    loop.done = run().catch((err: unknown) => {
      // unreachable by design (every step above retries); if it happens the
      // subscription is dead, which must be loud
      this.log.error('embedded subscription loop died', err, { subscription: loop.name });
    });
    this.loops.add(loop);
    this.log.info('subscribed', { topic, groupId: group, fromOffset: committed });

    const stop = async () => {
      if (loop.stopped) return loop.done;
      loop.stopped = true;
      loop.wake();
      await loop.done;
      this.published.off(topic, onPublish);
      this.loops.delete(loop);
      this.log.info('subscription stopped', { topic, groupId: group });
    };
    return { stop };
  }

  private async initialOffset(group: string, topic: string, fromBeginning: boolean): Promise<number> {
    const offsets = this.dataSource.getRepository(BusOffsetEntity);
    const row = await offsets.findOne({ where: { groupId: group, topic } });
    if (row) return Number(row.committedId);
    if (fromBeginning) return 0;
    // a new group that starts at the end: pin that end now, so a restart before the
    // first commit does not skip what was published in between
    const max = await this.dataSource
      .getRepository(BusEventEntity)
      .createQueryBuilder('e')
      .select('MAX(e.id)', 'max')
      .where('e.topic = :topic', { topic })
      .getRawOne<{ max: string | number | null }>();
    const end = Number(max?.max ?? 0);
    await offsets.upsert({ groupId: group, topic, committedId: end, updatedAt: new Date() }, ['groupId', 'topic']);
    return end;
  }

  /** Record the group's progress; retried, because a lost commit only means redelivery after a restart. */
  private async commit(group: string, topic: string, id: number, loop: Loop): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db(() =>
          this.dataSource.getRepository(BusOffsetEntity).upsert({ groupId: group, topic, committedId: id, updatedAt: new Date() }, ['groupId', 'topic']),
        );
        return;
      } catch (err) {
        if (loop.stopped) {
          this.log.warn('offset commit failed while stopping; these events will be redelivered', { subscription: loop.name, id, error: describe(err) });
          return;
        }
        const delay = backoffDelay(this.backoff, attempt);
        this.log.warn('offset commit failed; retrying', { subscription: loop.name, id, retryInMs: delay, error: describe(err) });
        await sleep(delay);
      }
    }
  }

  async isReady(): Promise<boolean> {
    if (!this.started || this.closed || !this.dataSource.isInitialized) return false;
    try {
      await this.db(() => this.dataSource.query('SELECT 1'));
      return true;
    } catch (err) {
      this.log.debug('embedded bus readiness probe failed', { error: describe(err) });
      return false;
    }
  }

  /** Stops every subscription (each finishes and commits its batch). The data source stays open: its owner closes it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      [...this.loops].map(async (loop) => {
        loop.stopped = true;
        loop.wake();
        await loop.done;
      }),
    );
    this.loops.clear();
    this.published.removeAllListeners();
    this.started = false;
    this.log.info('embedded bus closed');
  }
}
