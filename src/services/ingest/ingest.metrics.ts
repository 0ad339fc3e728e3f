// Prometheus metrics of the ingest consumers. Lag is measured in event time, at
// scrape time: now minus the creation time of the oldest event a consumer has been
// handed and not yet settled (saved or dead-lettered); 0 when it is caught up. It
// grows while ingest is stalled — a database outage retrying the same batch, or
// feedback waiting for its completion — which is when its alert must fire. It means
// the same on the Kafka and the embedded bus and needs no admin client (offset lag
// is broker-specific).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { BatchHandler, BusMessage } from '../../platform/messaging/event-bus.js';
import type { TopicName } from '../../platform/messaging/events.js';
import { metric } from '../../platform/metrics/metrics.js';

/**
 * A batch that threw is redelivered (to this process, after a backoff of at most
 * 10 s); if its partition moved to another consumer it never comes back here, so
 * an unsettled batch not retried for this long no longer counts.
 */
const UNSETTLED_FORGET_MS = 60_000;

interface Unsettled {
  /** creation time (ms) of the oldest event handed over and not settled */
  oldestCreatedAt: number;
  inFlight: boolean;
  lastHandedAt: number;
}

/** Tracks, per topic and partition, the oldest event handed to a handler and not yet settled. */
export class IngestLag {
  private readonly unsettled = new Map<TopicName, Map<number, Unsettled>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Wrap a consumer's handler: its events count as lag from hand-over until it resolves. */
  track<T extends TopicName>(topic: T, handler: BatchHandler<T>, createdAt: (m: BusMessage<T>) => string): BatchHandler<T> {
    const partitions = this.partitionsOf(topic);
    return async (messages) => {
      const byPartition = new Map<number, number>();
      for (const m of messages) {
        const t = Date.parse(createdAt(m));
        if (Number.isFinite(t)) byPartition.set(m.partition, Math.min(byPartition.get(m.partition) ?? Infinity, t));
      }
      const now = this.now();
      for (const [partition, oldest] of byPartition) {
        const prior = partitions.get(partition);
        partitions.set(partition, { oldestCreatedAt: Math.min(prior?.oldestCreatedAt ?? Infinity, oldest), inFlight: true, lastHandedAt: now });
      }
      try {
        const outcome = await handler(messages);
        for (const partition of byPartition.keys()) partitions.delete(partition);
        return outcome;
      } catch (err) {
        // the bus retries the same events: they stay unsettled
        for (const partition of byPartition.keys()) {
          const u = partitions.get(partition);
          if (u) u.inFlight = false;
        }
        throw err;
      }
    };
  }

  /** seconds behind for `topic` right now; 0 when caught up */
  secondsBehind(topic: TopicName): number {
    const now = this.now();
    let oldest = Infinity;
    for (const [partition, u] of this.partitionsOf(topic)) {
      if (!u.inFlight && now - u.lastHandedAt > UNSETTLED_FORGET_MS) this.partitionsOf(topic).delete(partition);
      else oldest = Math.min(oldest, u.oldestCreatedAt);
    }
    return Number.isFinite(oldest) ? Math.max(0, (now - oldest) / 1000) : 0;
  }

  get topics(): TopicName[] {
    return [...this.unsettled.keys()];
  }

  private partitionsOf(topic: TopicName): Map<number, Unsettled> {
    let partitions = this.unsettled.get(topic);
    if (!partitions) this.unsettled.set(topic, (partitions = new Map()));
    return partitions;
  }
}

export class IngestMetrics {
  readonly events: Counter<'topic' | 'outcome'>;
  readonly deadLettered: Counter<'topic' | 'reason'>;
  readonly lag: IngestLag;
  readonly lagSeconds: Gauge<'topic'>;
  readonly batchSeconds: Histogram<'topic'>;
  readonly retries: Counter<'topic' | 'reason'>;
  readonly waitingForCompletion: Gauge;

  constructor(registry: Registry, now: () => number = Date.now) {
    const lag = (this.lag = new IngestLag(now));
    this.events = metric(registry, 'outerloop_ingest_events_total', () =>
      new Counter({
        name: 'outerloop_ingest_events_total',
        help: 'Events handled by the ingest consumers, by topic and outcome (inserted, duplicate, dead_lettered)',
        labelNames: ['topic', 'outcome'] as const,
        registers: [registry],
      }),
    );
    this.deadLettered = metric(registry, 'outerloop_ingest_dlq_total', () =>
      new Counter({
        name: 'outerloop_ingest_dlq_total',
        help: 'Events the ingest consumers sent to the dead-letter topic, by topic and reason (schema failures are counted by the bus)',
        labelNames: ['topic', 'reason'] as const,
        registers: [registry],
      }),
    );
    this.lagSeconds = metric(registry, 'outerloop_ingest_lag_seconds', () =>
      new Gauge({
        name: 'outerloop_ingest_lag_seconds',
        help: 'Now minus the creation time of the oldest event handed to a consumer and not yet saved; 0 when caught up',
        labelNames: ['topic'] as const,
        registers: [registry],
        // computed at scrape time, so it grows while the consumer is stalled
        collect() {
          for (const topic of lag.topics) this.set({ topic }, lag.secondsBehind(topic));
        },
      }),
    );
    this.batchSeconds = metric(registry, 'outerloop_ingest_batch_seconds', () =>
      new Histogram({
        name: 'outerloop_ingest_batch_seconds',
        help: 'Time to persist one consumer batch',
        labelNames: ['topic'] as const,
        buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [registry],
      }),
    );
    this.retries = metric(registry, 'outerloop_ingest_retries_total', () =>
      new Counter({
        name: 'outerloop_ingest_retries_total',
        help: 'Consumer batches handed back to the bus for retry, by reason (database, completion_pending)',
        labelNames: ['topic', 'reason'] as const,
        registers: [registry],
      }),
    );
    this.waitingForCompletion = metric(registry, 'outerloop_ingest_feedback_waiting_for_completion', () =>
      new Gauge({
        name: 'outerloop_ingest_feedback_waiting_for_completion',
        help: 'Feedback events held back because their completion is not persisted yet',
        registers: [registry],
      }),
    );
  }
}
