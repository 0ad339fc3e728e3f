// The operator's read of the deployment and the policy versions, served by the gateway
// role (its request hooks check the admin scope).
import { Module } from '@nestjs/common';
import type { IDeploymentRepository, IModelRegistryRepository } from '../../../platform/persistence/repositories/index.js';
import { DEPLOYMENT_REPOSITORY, MODEL_REGISTRY_REPOSITORY } from '../../../platform/tokens.js';
import { DeploymentOverviewController } from './deployment-overview.controller.js';
import { DeploymentOverviewReads } from './deployment-overview.js';

@Module({
  controllers: [DeploymentOverviewController],
  providers: [
    {
      provide: DeploymentOverviewReads,
      useFactory: (deployments: IDeploymentRepository, modelRegistry: IModelRegistryRepository) => new DeploymentOverviewReads(deployments, modelRegistry),
      inject: [DEPLOYMENT_REPOSITORY, MODEL_REGISTRY_REPOSITORY],
    },
  ],
})
export class DeploymentOverviewModule {}
