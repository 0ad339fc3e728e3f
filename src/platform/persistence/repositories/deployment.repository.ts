// Traffic-split history (the `deployments` table): the newest row is the current routing.
import type { DeploymentRecord } from '../../../domain/deployments.js';
import { DeploymentEntity } from '../entities/deployment.entity.js';
import { TypeOrmScope } from './typeorm-scope.js';

export interface IDeploymentRepository {
  /** The newest deployment, or null on an empty registry. */
  current(): Promise<DeploymentRecord | null>;
  get(id: string): Promise<DeploymentRecord | null>;
  /** Insert unless a deployment with this id exists; returns whether it was inserted. */
  insertIfAbsent(deployment: DeploymentRecord): Promise<boolean>;
}

export class TypeOrmDeploymentRepository extends TypeOrmScope implements IDeploymentRepository {
  current(): Promise<DeploymentRecord | null> {
    return this.manager.getRepository(DeploymentEntity).findOne({ where: {}, order: { createdAt: 'DESC', id: 'DESC' } });
  }

  get(id: string): Promise<DeploymentRecord | null> {
    return this.manager.getRepository(DeploymentEntity).findOneBy({ id });
  }

  insertIfAbsent(deployment: DeploymentRecord): Promise<boolean> {
    return this.write(async (m) => {
      if (await m.getRepository(DeploymentEntity).existsBy({ id: deployment.id })) return false;
      // orIgnore: another replica inserting the same derived id at the same moment wrote the same row
      await m.createQueryBuilder().insert().into(DeploymentEntity).values(deployment).orIgnore().updateEntity(false).execute();
      return true;
    });
  }
}
