import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import type { OuterloopConfig } from '../../config/config.js';
import { CONFIG, METRICS } from '../tokens.js';
import { Dependencies } from './dependencies.service.js';

@Controller()
export class HealthController {
  constructor(
    private readonly deps: Dependencies,
    @Inject(METRICS) private readonly registry: Registry,
    @Inject(CONFIG) private readonly config: OuterloopConfig,
  ) {}

  /** liveness: the process is up and its event loop answers */
  @Get('healthz')
  healthz(): { status: 'ok'; roles: string[]; mode: string } {
    return { status: 'ok', roles: this.config.roles, mode: this.config.mode };
  }

  /** readiness: the database and the bus answer right now, and every role's own check is up */
  @Get('readyz')
  async readyz(@Res() reply: FastifyReply): Promise<void> {
    const status = await this.deps.status();
    const ready = status.database.up && status.bus.up && Object.values(status.roles ?? {}).every((c) => c.up);
    await reply.code(ready ? 200 : 503).send({ ready, ...status });
  }

  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
