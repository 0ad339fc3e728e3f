// Every role reports itself in /metrics (outerloop_role_up{role}) so a dashboard
// shows which roles a process runs, and logs its start and stop.
import { type OnApplicationShutdown, type OnModuleInit, type Provider } from '@nestjs/common';
import { Gauge, type Registry } from 'prom-client';
import { Logger } from '../platform/logging/logger.js';
import { metric } from '../platform/metrics/metrics.js';
import { METRICS } from '../platform/tokens.js';

export class RoleHeartbeat implements OnModuleInit, OnApplicationShutdown {
  private readonly log: Logger;
  private readonly up: Gauge<'role'>;

  constructor(readonly role: string, registry: Registry) {
    this.log = new Logger(role);
    this.up = metric(registry, 'outerloop_role_up', () => new Gauge({ name: 'outerloop_role_up', help: 'roles this process runs', labelNames: ['role'] as const, registers: [registry] }));
  }

  onModuleInit(): void {
    this.up.set({ role: this.role }, 1);
    this.log.info('role started');
  }

  onApplicationShutdown(): void {
    this.up.set({ role: this.role }, 0);
    this.log.info('role stopped');
  }
}

export function roleHeartbeatProvider(role: string): Provider {
  return { provide: RoleHeartbeat, useFactory: (registry: Registry) => new RoleHeartbeat(role, registry), inject: [METRICS] };
}
