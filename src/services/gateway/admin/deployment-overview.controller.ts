// GET /v1/admin/deployment-overview (scope admin: ROUTE_SCOPES in ../http/gateway-hooks.ts).
import { Controller, Get, Inject } from '@nestjs/common';
import { DeploymentOverviewReads, type DeploymentOverview } from './deployment-overview.js';

@Controller('v1/admin/deployment-overview')
export class DeploymentOverviewController {
  constructor(@Inject(DeploymentOverviewReads) private readonly reads: DeploymentOverviewReads) {}

  @Get()
  overview(): Promise<DeploymentOverview> {
    return this.reads.overview();
  }
}
