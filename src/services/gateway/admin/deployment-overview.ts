// What the operator's Models view reads (GET /v1/admin/deployment-overview): the
// current deployment — production, canary and its traffic share, shadow — and the
// registered policy versions in every status, newest first, with their parents.
import type { DeploymentRecord } from '../../../domain/deployments.js';
import { MODEL_STATUSES, type ModelVersionRecord } from '../../../domain/models.js';
import type { IDeploymentRepository, IModelRegistryRepository } from '../../../platform/persistence/repositories/index.js';

export interface DeploymentOverview {
  deployment: DeploymentRecord | null;
  /** every policy version, newest first */
  policies: ModelVersionRecord[];
}

export class DeploymentOverviewReads {
  constructor(
    private readonly deployments: IDeploymentRepository,
    private readonly modelRegistry: IModelRegistryRepository,
  ) {}

  async overview(): Promise<DeploymentOverview> {
    const deployment = await this.deployments.current();
    const byStatus = await Promise.all(MODEL_STATUSES.map((s) => this.modelRegistry.findByStatus('policy', s)));
    const policies = byStatus.flat().sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id.localeCompare(a.id));
    return { deployment, policies };
  }
}
