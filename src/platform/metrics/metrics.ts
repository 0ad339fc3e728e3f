// Prometheus metrics: one registry per process, process metrics by default, and
// an HTTP request-duration histogram labelled by route (the route pattern, not
// the raw URL, so cardinality stays bounded) and status.
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';

export function createMetricsRegistry(labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, prefix: 'outerloop_' });
  return registry;
}

/** Get-or-create, so two modules asking for the same metric share it. */
export function metric<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
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
