// The gateway's Prometheus metrics. Labels stay low-cardinality: route patterns,
// status codes and model versions (a handful are deployed at a time).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { metric } from '../../../platform/metrics/metrics.js';

export class GatewayMetrics {
  readonly requests: Counter<'route' | 'status' | 'model_version'>;
  readonly queueDepth: Gauge;
  readonly activeGenerations: Gauge;
  readonly batchSize: Gauge<'model_version'>;
  readonly ttft: Histogram<'model_version' | 'stream'>;
  readonly timePerOutputToken: Histogram<'model_version'>;
  readonly tokensGenerated: Counter<'model_version'>;
  readonly promptTokens: Counter<'model_version'>;
  readonly spoolSize: Gauge;
  readonly spoolDropped: Counter;
  readonly completionsPublished: Counter;
  readonly completionsSpooled: Counter;
  readonly rejected: Counter<'reason'>;
  readonly cancelled: Counter<'reason'>;
  readonly shadowSkipped: Counter;

  constructor(registry: Registry) {
    const r = [registry];
    this.requests = metric(registry, 'outerloop_gateway_requests_total', () =>
      new Counter({ name: 'outerloop_gateway_requests_total', help: 'Gateway requests by route, HTTP status and model version', labelNames: ['route', 'status', 'model_version'] as const, registers: r }),
    );
    this.queueDepth = metric(registry, 'outerloop_gateway_queue_depth', () =>
      new Gauge({ name: 'outerloop_gateway_queue_depth', help: 'Requests waiting for a generation slot', registers: r }),
    );
    this.activeGenerations = metric(registry, 'outerloop_gateway_active_generations', () =>
      new Gauge({ name: 'outerloop_gateway_active_generations', help: 'Generation slots in use (admitted sequences)', registers: r }),
    );
    this.batchSize = metric(registry, 'outerloop_gateway_engine_batch_size', () =>
      new Gauge({ name: 'outerloop_gateway_engine_batch_size', help: 'Rows in the engine\'s last decode step', labelNames: ['model_version'] as const, registers: r }),
    );
    this.ttft = metric(registry, 'outerloop_gateway_time_to_first_token_seconds', () =>
      new Histogram({
        name: 'outerloop_gateway_time_to_first_token_seconds',
        help: 'Time from request arrival to the first generated token (queueing included)',
        labelNames: ['model_version', 'stream'] as const,
        buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
        registers: r,
      }),
    );
    this.timePerOutputToken = metric(registry, 'outerloop_gateway_time_per_output_token_seconds', () =>
      new Histogram({
        name: 'outerloop_gateway_time_per_output_token_seconds',
        help: 'Mean inter-token time of a completion after its first token',
        labelNames: ['model_version'] as const,
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
        registers: r,
      }),
    );
    this.tokensGenerated = metric(registry, 'outerloop_gateway_generated_tokens_total', () =>
      new Counter({ name: 'outerloop_gateway_generated_tokens_total', help: 'Completion tokens generated', labelNames: ['model_version'] as const, registers: r }),
    );
    this.promptTokens = metric(registry, 'outerloop_gateway_prompt_tokens_total', () =>
      new Counter({ name: 'outerloop_gateway_prompt_tokens_total', help: 'Prompt tokens processed', labelNames: ['model_version'] as const, registers: r }),
    );
    this.spoolSize = metric(registry, 'outerloop_gateway_completion_spool_size', () =>
      new Gauge({ name: 'outerloop_gateway_completion_spool_size', help: 'Completion events waiting in the durable spool for the bus', registers: r }),
    );
    this.spoolDropped = metric(registry, 'outerloop_gateway_completion_spool_dropped_total', () =>
      new Counter({ name: 'outerloop_gateway_completion_spool_dropped_total', help: 'Completion events lost because the spool was full', registers: r }),
    );
    this.completionsPublished = metric(registry, 'outerloop_gateway_completions_published_total', () =>
      new Counter({ name: 'outerloop_gateway_completions_published_total', help: 'Completion events acknowledged by the bus', registers: r }),
    );
    this.completionsSpooled = metric(registry, 'outerloop_gateway_completions_spooled_total', () =>
      new Counter({ name: 'outerloop_gateway_completions_spooled_total', help: 'Completion events written to the spool because the bus was unavailable', registers: r }),
    );
    this.rejected = metric(registry, 'outerloop_gateway_rejected_total', () =>
      new Counter({ name: 'outerloop_gateway_rejected_total', help: 'Requests refused before generation', labelNames: ['reason'] as const, registers: r }),
    );
    this.cancelled = metric(registry, 'outerloop_gateway_cancelled_total', () =>
      new Counter({ name: 'outerloop_gateway_cancelled_total', help: 'Generations stopped early', labelNames: ['reason'] as const, registers: r }),
    );
    this.shadowSkipped = metric(registry, 'outerloop_gateway_shadow_skipped_total', () =>
      new Counter({ name: 'outerloop_gateway_shadow_skipped_total', help: 'Shadow generations skipped because no slot was free', registers: r }),
    );
  }
}
