// The admin endpoints for evaluation reports (scope admin: ROUTE_SCOPES in
// src/services/gateway/http/gateway-hooks.ts). Thin: the reading is EvaluationReports'.
import { BadRequestException, Controller, Get, Header, Inject, NotFoundException, Param, Query } from '@nestjs/common';
import type { GateDecisionRecordRow } from '../../domain/evaluation.js';
import { EvaluationReportError, EvaluationReports } from './evaluation-reports.js';
import { GateDecisionReads } from './gate-decisions.js';

async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof EvaluationReportError) throw e.code === 'not_found' ? new NotFoundException(e.message) : new BadRequestException(e.message);
    throw e;
  }
}

@Controller('v1/admin/evaluations')
export class EvaluationReportsController {
  constructor(@Inject(EvaluationReports) private readonly reports: EvaluationReports) {}

  @Get(':id/report')
  @Header('content-type', 'text/markdown; charset=utf-8')
  report(@Param('id') id: string): Promise<string> {
    return answer(() => this.reports.report(id));
  }

  @Get(':id/charts')
  async charts(@Param('id') id: string): Promise<{ charts: string[] }> {
    return { charts: await answer(() => this.reports.charts(id)) };
  }

  @Get(':id/charts/:name.svg')
  @Header('content-type', 'image/svg+xml')
  chart(@Param('id') id: string, @Param('name') name: string): Promise<string> {
    return answer(() => this.reports.chart(id, name));
  }
}

@Controller('v1/admin/gate-decisions')
export class GateDecisionsController {
  constructor(@Inject(GateDecisionReads) private readonly decisions: GateDecisionReads) {}

  /** The newest gate decisions (?limit=, default 50, at most 200), newest first. */
  @Get()
  async recent(@Query('limit') limit?: string): Promise<{ data: GateDecisionRecordRow[] }> {
    return { data: await answer(() => this.decisions.recent(limit)) };
  }
}
