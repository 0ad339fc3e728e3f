// Prometheus metrics: one registry per process, process metrics by default, and
// an HTTP request-duration histogram labelled by route (the route pattern, not
// the raw URL, so cardinality stays bounded) and status.
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import type { DeadLetterCause, DeadLetterObserver } from '../messaging/delivery.js';
import type { TopicName } from '../messaging/events.js';

/**
 * prom-client's `nodejs_active_{handles,requests,resources}_total` are gauges, and
 * only counters may end in `_total` (`promtool check metrics`). The same figures by
 * type stay (`…_active_handles{type}`; their sum is the total).
 */
const NONCONFORMING_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export function createMetricsRegistry(labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, prefix: 'outerloop_' });
  for (const name of NONCONFORMING_DEFAULT_METRICS) registry.removeSingleMetric(`outerloop_${name}`);
  return registry;
}

/** Get-or-create, so two modules asking for the same metric share it. */
export function metric<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

const DEAD_LETTER_CAUSES: DeadLetterCause[] = ['malformed', 'rejected', 'handler_failed'];

/**
 * The bus's dead letters, from either adapter: malformed events (schema or JSON
 * failures the handler never sees), events a handler rejected, and events a
 * handler kept failing on. Series start at zero when a subscription starts, so
 * `increase()` sees the very first letter.
 */
export function deadLetterMetrics(registry: Registry): DeadLetterObserver {
  const letters = metric(registry, 'outerloop_bus_dead_lettered_total', () =>
    new Counter({
      name: 'outerloop_bus_dead_lettered_total',
      help: 'Events the bus wrote to <topic>.dlq, by source topic and cause (malformed, rejected, handler_failed)',
      labelNames: ['topic', 'cause'] as const,
      registers: [registry],
    }),
  );
  return {
    watching(topic: TopicName) {
      for (const cause of DEAD_LETTER_CAUSES) letters.inc({ topic, cause }, 0);
    },
    deadLettered(topic: TopicName, cause: DeadLetterCause, count: number) {
      letters.inc({ topic, cause }, count);
    },
  };
}

export function instrumentHttp(fastify: FastifyInstance, registry: Registry): void {
  const duration = metric(
    registry,
    'outerloop_http_request_duration_seconds',
    () =>
      new Histogram({
        name: 'outerloop_http_request_duration_seconds',
        help: 'HTTP request duration by route and status',
        labelNames: ['method', 'route', 'status'] as const,
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers: [registry],
      }),
  );
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions?.url ?? 'unmatched';
    duration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
