// Every role reports itself in /metrics, one series per role the process runs
// (outerloop_role_up{outerloop_role="gateway"}), and logs its start and stop.
// The label is not `role`: Prometheus' scrape config labels each target with the
// role of its deployment, and a metric label of the same name would be renamed
// to `exported_role` and, in a process running several roles, collapse with it.
import { type OnApplicationShutdown, type OnModuleInit, type Provider } from '@nestjs/common';
import { Gauge, type Registry } from 'prom-client';
import { Logger } from '../platform/logging/logger.js';
import { metric } from '../platform/metrics/metrics.js';
import { METRICS } from '../platform/tokens.js';

export class RoleHeartbeat implements OnModuleInit, OnApplicationShutdown {
  private readonly log: Logger;
  private readonly up: Gauge<'outerloop_role'>;

  constructor(readonly role: string, registry: Registry) {
    this.log = new Logger(role);
    this.up = metric(registry, 'outerloop_role_up', () =>
      new Gauge({ name: 'outerloop_role_up', help: '1 for each role this process runs', labelNames: ['outerloop_role'] as const, registers: [registry] }),
    );
  }

  onModuleInit(): void {
    this.up.set({ outerloop_role: this.role }, 1);
    this.log.info('role started');
  }

  onApplicationShutdown(): void {
    this.up.set({ outerloop_role: this.role }, 0);
    this.log.info('role stopped');
  }
}

export function roleHeartbeatProvider(role: string): Provider {
  return { provide: RoleHeartbeat, useFactory: (registry: Registry) => new RoleHeartbeat(role, registry), inject: [METRICS] };
}
