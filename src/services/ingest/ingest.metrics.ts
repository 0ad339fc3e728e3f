// Prometheus metrics of the ingest consumers. Lag is measured as event time:
// now minus the creation time of the newest event in the last persisted batch —
// "how stale is the database" — which means the same on the Kafka and the
// embedded bus and needs no admin client (offset lag is broker-specific).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { metric } from '../../platform/metrics/metrics.js';

export class IngestMetrics {
  readonly events: Counter<'topic' | 'outcome'>;
  readonly deadLettered: Counter<'topic' | 'reason'>;
  readonly lagSeconds: Gauge<'topic'>;
  readonly batchSeconds: Histogram<'topic'>;
  readonly retries: Counter<'topic' | 'reason'>;
  readonly waitingForCompletion: Gauge;

  constructor(registry: Registry) {
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
        help: 'Now minus the creation time of the newest event in the last persisted batch',
        labelNames: ['topic'] as const,
        registers: [registry],
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
