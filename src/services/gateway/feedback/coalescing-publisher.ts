// Group commit for bus publishes. Each feedback request must wait for acks=all
// before its 202, and one produce round trip costs ~ms on Kafka; sending one
// produce per HTTP request caps the single-event rate at (in-flight requests /
// round trip). Instead, records from concurrent requests are queued and sent
// together: at most `maxInFlight` publish calls run at once (default 1), and everything that
// arrives while they run is sent as one call when a slot frees. Under light load
// a record goes out immediately (no linger); under heavy load batches grow on
// their own — the same idea as a database's group commit or Kafka's linger.ms,
// without adding latency when idle.
import type { BusRecord, EventBus } from '../../../platform/messaging/event-bus.js';
import type { TopicName } from '../../../platform/messaging/events.js';

interface Pending<T extends TopicName> {
  records: BusRecord<T>[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface CoalescingPublisherOptions {
  /**
   * concurrent publish calls (default 1). The Kafka adapter's idempotent producer
   * sends one request at a time per broker (maxInFlightRequests 1), so a second
   * concurrent call would only wait inside kafkajs holding a small batch; with one
   * call in flight everything that arrives meanwhile goes out together next.
   */
  maxInFlight?: number;
  /** upper bound on records in one publish call (Kafka message.max.bytes is per batch) */
  maxBatchRecords?: number;
  /** observer: records sent by each publish call (how well requests coalesce) */
  onPublish?: (records: number) => void;
}

export interface CoalescingStats {
  publishCalls: number;
  records: number;
}

export class CoalescingPublisher<T extends TopicName> {
  private readonly queue: Pending<T>[] = [];
  private queuedRecords = 0;
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly maxBatchRecords: number;
  readonly stats: CoalescingStats = { publishCalls: 0, records: 0 };

  constructor(
    private readonly bus: Pick<EventBus, 'publish'>,
    private readonly topic: T,
    private readonly options: CoalescingPublisherOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 1;
    this.maxBatchRecords = options.maxBatchRecords ?? 5000;
    if (this.maxInFlight < 1) throw new RangeError('maxInFlight must be >= 1');
    if (this.maxBatchRecords < 1) throw new RangeError('maxBatchRecords must be >= 1');
  }

  /** Resolves once the bus holds every record (acks=all); rejects with the bus's error otherwise. */
  publish(records: BusRecord<T>[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      this.queuedRecords += records.length;
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      // Take whole requests (never split one: its promise settles on one outcome)
      // until the batch bound; a single oversized request still goes alone.
      const batch: Pending<T>[] = [];
      let count = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0]!;
        if (batch.length > 0 && count + next.records.length > this.maxBatchRecords) break;
        batch.push(this.queue.shift()!);
        count += next.records.length;
      }
      this.queuedRecords -= count;
      this.inFlight++;
      void this.send(batch, count);
    }
  }

  private async send(batch: Pending<T>[], count: number): Promise<void> {
    const records = batch.length === 1 ? batch[0]!.records : batch.flatMap((p) => p.records);
    this.stats.publishCalls++;
    this.stats.records += count;
    this.options.onPublish?.(count);
    try {
      await this.bus.publish(this.topic, records);
      for (const p of batch) p.resolve();
    } catch (err) {
      // All-or-nothing per call: every request in it is told the publish failed, so
      // none of them is acknowledged (a retry by the client is deduplicated by event id).
      for (const p of batch) p.reject(err);
    } finally {
      this.inFlight--;
      this.pump();
    }
  }

  /** records waiting for a publish slot (a saturation signal) */
  get backlog(): number {
    return this.queuedRecords;
  }
}
