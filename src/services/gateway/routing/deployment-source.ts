// Where the current deployment comes from: the model registry (`deployments`,
// newest row = current routing; `model_versions` for artifact paths). With an
// empty registry the configured base policy is registered as the production
// version on first start, so a fresh install serves something and every later
// deployment has a parent to point to.
import { isAbsolute, resolve } from 'node:path';
import type { DataSource } from 'typeorm';
import { readArtifactManifest } from '../../../engine/artifact/artifact.js';
import type { ArtifactStore } from '../../../platform/artifacts/artifact-store.js';
import { Logger } from '../../../platform/logging/logger.js';
import { DeploymentEntity } from '../../../platform/persistence/entities/deployment.entity.js';
import { ModelVersionEntity } from '../../../platform/persistence/entities/model-version.entity.js';
import type { VersionSource } from './model-pool.js';
import type { DeploymentSpec } from './router.js';
import { serializeOnSqlite } from '../../../platform/persistence/sqlite-serializer.js';

export interface ResolvedDeployment {
  spec: DeploymentSpec;
  sources: VersionSource[];
}

/** Port: the deployment to serve now. */
export interface DeploymentSource {
  current(): Promise<ResolvedDeployment>;
}

export const BASE_DEPLOYMENT_ID = 'deployment-base';

export function baseVersionId(artifactId: string): string {
  return `policy-${artifactId.slice(0, 16)}`;
}

export class RegistryDeploymentSource implements DeploymentSource {
  private readonly log = new Logger('gateway.registry');

  constructor(
    private readonly dataSource: DataSource,
    private readonly artifacts: ArtifactStore,
    private readonly basePolicyDir: string,
    /** resolves once the database is connected and migrated */
    private readonly databaseReady: () => Promise<void>,
  ) {}

  /** model_versions.artifact_path is relative to the artifact store unless absolute. */
  private artifactDir(path: string): string {
    return isAbsolute(path) ? path : this.artifacts.resolve(path);
  }

  async current(): Promise<ResolvedDeployment> {
    await this.databaseReady();
    const deployments = this.dataSource.getRepository(DeploymentEntity);
    let row = await deployments.findOne({ where: {}, order: { createdAt: 'DESC', id: 'DESC' } });
    if (!row) row = await this.registerBasePolicy();
    const ids = [row.productionModelId, row.canaryModelId, row.shadowModelId].filter((x): x is string => !!x);
    const versions = await this.dataSource.getRepository(ModelVersionEntity).findBy(ids.map((id) => ({ id })));
    const byId = new Map(versions.map((v) => [v.id, v]));
    for (const id of ids) {
      if (!byId.has(id)) throw new Error(`deployment ${row.id} names model version ${id}, which is not in model_versions`);
    }
    return {
      spec: {
        id: row.id,
        production: row.productionModelId,
        canary: row.canaryModelId ? { version: row.canaryModelId, weight: row.canaryWeight } : null,
        shadow: row.shadowModelId,
      },
      sources: versions.map((v) => ({ version: v.id, artifactDir: this.artifactDir(v.artifactPath) })),
    };
  }

  /** Idempotent across replicas: ids are derived from the artifact, so a second insert is a no-op. */
  private async registerBasePolicy(): Promise<DeploymentEntity> {
    const dir = resolve(this.basePolicyDir);
    const manifest = await readArtifactManifest(dir);
    const versionId = baseVersionId(manifest.artifactId);
    await serializeOnSqlite(this.dataSource, () =>
      this.dataSource.transaction(async (em) => {
      if (!(await em.findOne(ModelVersionEntity, { where: { id: versionId } }))) {
        const v = new ModelVersionEntity();
        v.id = versionId;
        v.kind = 'policy';
        v.parentId = null;
        v.artifactPath = dir;
        v.sha256 = manifest.artifactId;
        v.status = 'production';
        v.trainingRunId = null;
        v.datasetSnapshotId = null;
        v.metrics = {};
        v.createdAt = new Date();
        await em.insert(ModelVersionEntity, v);
      }
      if (!(await em.findOne(DeploymentEntity, { where: { id: BASE_DEPLOYMENT_ID } }))) {
        const d = new DeploymentEntity();
        d.id = BASE_DEPLOYMENT_ID;
        d.productionModelId = versionId;
        d.canaryModelId = null;
        d.canaryWeight = 0;
        d.shadowModelId = null;
        d.reason = `empty registry: base policy ${dir} registered as production on first start`;
        d.createdAt = new Date();
        await em.insert(DeploymentEntity, d);
      }
    }),
    );
    this.log.info('registry was empty: base policy registered as the production version', { version: versionId, artifactDir: dir });
    const row = await this.dataSource.getRepository(DeploymentEntity).findOne({ where: {}, order: { createdAt: 'DESC', id: 'DESC' } });
    if (!row) throw new Error('base deployment was inserted but cannot be read back');
    return row;
  }
}

/** A fixed deployment (tests, benchmarks, and a gateway pinned to one artifact). */
export class StaticDeploymentSource implements DeploymentSource {
  constructor(private resolved: ResolvedDeployment) {}
  set(resolved: ResolvedDeployment): void {
    this.resolved = resolved;
  }
  async current(): Promise<ResolvedDeployment> {
    return this.resolved;
  }
}
