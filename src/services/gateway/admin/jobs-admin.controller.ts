// The jobs admin API (scope admin: ROUTE_SCOPES in src/services/gateway/http/gateway-hooks.ts).
// Thin: JobQueue validates, enqueues and cancels (params checked against the kind's schema
// in platform/messaging/events.ts: a bad field is a 400 naming it). Unknown id → 404.
import { BadRequestException, Body, Controller, Get, HttpCode, Inject, NotFoundException, Param, Post, UseGuards } from '@nestjs/common';
import { isJobKind } from '../../../domain/jobs.js';
import { AuthenticatedRequestGuard } from '../../../platform/http/request-caller.js';
import { InvalidJobError, JobNotFoundError } from '../../../platform/jobs/errors.js';
import { JobQueue } from '../../../platform/jobs/job-queue.js';
import type { JobParamsInput } from '../../../platform/messaging/events.js';

async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof InvalidJobError) throw new BadRequestException({ error: { code: e.code, message: e.message } });
    if (e instanceof JobNotFoundError) throw new NotFoundException({ error: { code: 'not_found', message: e.message } });
    throw e;
  }
}

const invalid = (message: string) => new BadRequestException({ error: { code: 'invalid_request', message } });

@Controller('v1/admin/jobs')
@UseGuards(AuthenticatedRequestGuard)
export class JobsAdminController {
  constructor(@Inject(JobQueue) private readonly jobs: JobQueue) {}

  @Post()
  @HttpCode(201)
  enqueue(@Body() body: unknown) {
    const b = (body ?? {}) as { kind?: unknown; params?: unknown; idempotencyKey?: unknown; maxAttempts?: unknown };
    if (typeof b !== 'object' || Array.isArray(b)) throw invalid('body: a JSON object { kind, params } is required');
    if (typeof b.kind !== 'string' || !isJobKind(b.kind)) throw invalid(`kind: must be a job kind, got ${JSON.stringify(b.kind)}`);
    if (b.idempotencyKey !== undefined && typeof b.idempotencyKey !== 'string') throw invalid('idempotencyKey: must be a string');
    if (b.maxAttempts !== undefined && typeof b.maxAttempts !== 'number') throw invalid('maxAttempts: must be a number');
    return answer(async () => {
      const { job, created } = await this.jobs.enqueue(b.kind as never, (b.params ?? {}) as JobParamsInput<never>, {
        ...(b.idempotencyKey !== undefined ? { idempotencyKey: b.idempotencyKey as string } : {}),
        ...(b.maxAttempts !== undefined ? { maxAttempts: b.maxAttempts as number } : {}),
      });
      return { job, created };
    });
  }

  @Get(':id')
  show(@Param('id') id: string) {
    return answer(() => this.jobs.get(id));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  cancel(@Param('id') id: string) {
    return answer(() => this.jobs.cancel(id));
  }
}
