// The admin API of the loop (scope admin: ROUTE_SCOPES in
// src/services/gateway/http/gateway-hooks.ts) and the canary verdict for Argo Rollouts'
// web metric provider and Flagger's webhooks. Thin: the work is Orchestrator's and
// LoopLineage's; errors map to status codes here (illegal in this state → 409).
import { Body, ConflictException, Controller, UseGuards, Get, HttpCode, HttpException, Inject, NotFoundException, Param, Post, Query, BadRequestException } from '@nestjs/common';
import { IllegalLoopActionError } from '../../domain/loop.js';
import { AuthenticatedRequestGuard } from '../../platform/http/request-caller.js';
import { LineageNotFoundError, LoopLineage } from './lineage.js';
import { IterationNotFoundError, LoopBusyError, Orchestrator } from './orchestrator.js';

async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof IllegalLoopActionError) throw new ConflictException({ error: { code: e.code, message: e.message, state: e.state } });
    if (e instanceof LoopBusyError) throw new ConflictException({ error: { code: e.code, message: e.message, state: e.state } });
    if (e instanceof IterationNotFoundError || e instanceof LineageNotFoundError) throw new NotFoundException({ error: { code: 'not_found', message: e.message } });
    throw e;
  }
}

function text(body: unknown, field: string, required = true): string {
  const value = (body as Record<string, unknown> | undefined)?.[field];
  if (value === undefined && !required) return '';
  if (typeof value !== 'string' || !value) throw new BadRequestException({ error: { code: 'invalid_request', message: `${field}: a non-empty string is required` } });
  return value;
}

const FLAGGER_HOOKS = ['confirm-promotion', 'rollback', 'rollout'] as const;

@Controller('v1/admin/loop')
@UseGuards(AuthenticatedRequestGuard)
export class LoopController {
  constructor(
    @Inject(Orchestrator) private readonly orchestrator: Orchestrator,
    @Inject(LoopLineage) private readonly lineage: LoopLineage,
  ) {}

  @Get('iterations')
  list(@Query('limit') limit?: string) {
    return answer(async () => ({ data: await this.orchestrator.list(Math.min(500, Math.max(1, Number(limit ?? 50) || 50))) }));
  }

  @Get('iterations/:id')
  show(@Param('id') id: string) {
    return answer(() => this.orchestrator.show(id));
  }

  @Post('iterations')
  @HttpCode(201)
  trigger() {
    return answer(() => this.orchestrator.trigger('manual'));
  }

  @Post('pause')
  @HttpCode(200)
  pause() {
    return answer(async () => ({ paused: true, iteration: await this.orchestrator.pause() }));
  }

  @Post('resume')
  @HttpCode(200)
  resume() {
    return answer(async () => ({ paused: false, iteration: await this.orchestrator.resume() }));
  }

  @Post('iterations/:id/approve')
  @HttpCode(200)
  approve(@Param('id') id: string, @Body() body: unknown) {
    return answer(() => this.orchestrator.review(id, 'approved', text(body, 'by', false) || 'admin'));
  }

  @Post('iterations/:id/reject')
  @HttpCode(200)
  reject(@Param('id') id: string, @Body() body: unknown) {
    return answer(() => this.orchestrator.review(id, 'rejected', text(body, 'by', false) || 'admin'));
  }

  @Post('iterations/:id/rollback')
  @HttpCode(200)
  rollback(@Param('id') id: string, @Body() body: unknown) {
    return answer(() => this.orchestrator.rollback(id, text(body, 'reason', false) || 'forced by an operator'));
  }

  @Post('pin')
  @HttpCode(200)
  pin(@Body() body: unknown) {
    return answer(() => this.orchestrator.pin(text(body, 'modelId'), text(body, 'reason', false) || 'pinned by an operator'));
  }

  @Get('lineage/models/:id')
  modelLineage(@Param('id') id: string) {
    return answer(() => this.lineage.ofModel(id));
  }

  @Get('lineage/feedback/:id')
  feedbackLineage(@Param('id') id: string) {
    return answer(() => this.lineage.ofFeedback(id));
  }

  /** Argo Rollouts web metric: `successCondition: result.decision == "promote"`, `failureCondition: result.decision == "rollback"`. */
  @Get('canary')
  canary() {
    return answer(async () => {
      const current = await this.orchestrator.canaryVerdict();
      if (!current) throw new NotFoundException({ error: { code: 'not_found', message: 'no iteration yet' } });
      const v = current.verdict;
      const outcome = current.iteration.steps.canary?.outputs;
      const decision = v?.decision ?? (outcome?.decision as string | undefined) ?? 'continue';
      return {
        iteration: current.iteration.id,
        state: current.iteration.state,
        candidate: current.iteration.candidateModelId,
        decision,
        reason: v?.reason ?? (outcome?.reason as string | undefined) ?? 'no look yet',
        samples: v?.samples ?? (outcome?.samples as number | undefined) ?? 0,
        thumbsPValue: v?.thumbs.pValue ?? null,
        pairwisePValue: v?.pairwise.pValue ?? null,
        at: v?.at ?? null,
      };
    });
  }

  /** Flagger webhooks: 200 lets the phase proceed, anything else halts it (confirm-promotion: 200 only on promote; rollback: 200 asks Flagger to roll back; rollout: 200 unless the verdict is rollback). */
  @Post('canary/flagger/:hook')
  @HttpCode(200)
  flagger(@Param('hook') hook: string) {
    return answer(async () => {
      if (!(FLAGGER_HOOKS as readonly string[]).includes(hook)) throw new BadRequestException({ error: { code: 'invalid_request', message: `hook: one of ${FLAGGER_HOOKS.join(', ')}` } });
      const verdict = await this.canary();
      const ok = hook === 'confirm-promotion' ? verdict.decision === 'promote' : hook === 'rollback' ? verdict.decision === 'rollback' : verdict.decision !== 'rollback';
      if (!ok) throw new HttpException({ ...verdict, hook }, 412);
      return { ...verdict, hook };
    });
  }
}
