// One codebase, any set of roles: `outerloop start --roles gateway,ingest` imports
// just those modules, so the same code runs as one process on a laptop or as
// separately scaled deployments.
import { type DynamicModule, Module, type Type } from '@nestjs/common';
import type { OuterloopConfig, Role } from '../config/config.js';
import { PlatformModule } from '../platform/platform.module.js';
import { EvaluationReportsModule, EvaluatorModule } from './evaluator/evaluator.module.js';
import { AdminModule } from './gateway/admin/admin.module.js';
import { DeploymentOverviewModule } from './gateway/admin/deployment-overview.module.js';
import { ConsoleModule } from './gateway/console/console.module.js';
import { FeedbackModule } from './gateway/feedback/feedback.module.js';
import { GatewayModule } from './gateway/gateway.module.js';
import { IngestModule } from './ingest/ingest.module.js';
import { OrchestratorModule } from './orchestrator/orchestrator.module.js';
import { TrainerModule } from './trainer/trainer.module.js';

const ROLE_MODULES: Record<Role, Type<unknown>[]> = {
  gateway: [GatewayModule, FeedbackModule, ConsoleModule, EvaluationReportsModule, DeploymentOverviewModule, AdminModule],
  ingest: [IngestModule],
  trainer: [TrainerModule],
  evaluator: [EvaluatorModule],
  orchestrator: [OrchestratorModule],
};

@Module({})
export class AppModule {
  static forRoles(config: OuterloopConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [PlatformModule.forRoot(config), ...config.roles.flatMap((r) => ROLE_MODULES[r])],
    };
  }
}
