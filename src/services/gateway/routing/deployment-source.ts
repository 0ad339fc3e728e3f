// Where the current deployment comes from: the model registry (`deployments`,
// newest row = current routing; `model_versions` for artifact paths). With an
// empty registry the configured base policy is registered as the production
// version on first start, so a fresh install serves something and every later
// deployment has a parent to point to.
import { isAbsolute, resolve } from 'node:path';
import { readArtifactManifest } from '../../../engine/artifact/artifact.js';
import type { ArtifactStore } from '../../../platform/artifacts/artifact-store.js';
import { Logger } from '../../../platform/logging/logger.js';
import type { IDeploymentRepository, IModelRegistryRepository, ITransactionRunner } from '../../../platform/persistence/repositories/index.js';
import type { DeploymentRecord } from '../../../domain/deployments.js';
import type { ModelVersionRecord } from '../../../domain/models.js';
import type { VersionSource } from './model-pool.js';
import type { DeploymentSpec } from './router.js';

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

/** The registry's repositories this source reads (and, on an empty registry, writes). */
export interface RegistryAccess {
  registry: IModelRegistryRepository;
  deployments: IDeploymentRepository;
  transactions: ITransactionRunner;
}

export class RegistryDeploymentSource implements DeploymentSource {
  private readonly log = new Logger('gateway.registry');
  private explainedProduction: string | null = null;

  constructor(
    private readonly store: RegistryAccess,
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
    let row = await this.store.deployments.current();
    if (!row) row = await this.registerBasePolicy();
    const ids = [row.productionModelId, row.canaryModelId, row.shadowModelId].filter((x): x is string => !!x);
    const versions = await this.store.registry.findByIds(ids);
    const byId = new Map(versions.map((v) => [v.id, v]));
    for (const id of ids) {
      if (!byId.has(id)) throw new Error(`deployment ${row.id} names model version ${id}, which is not in model_versions`);
    }
    this.explainBasePolicy(row, byId.get(row.productionModelId)!);
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

  /** OUTERLOOP_BASE_POLICY only seeds an empty registry; say so when it is not what serves. */
  private explainBasePolicy(row: DeploymentRecord, production: ModelVersionRecord): void {
    const baseDir = resolve(this.basePolicyDir);
    if (this.explainedProduction === production.id || this.artifactDir(production.artifactPath) === baseDir) return;
    this.explainedProduction = production.id;
    this.log.warn('OUTERLOOP_BASE_POLICY is not what this gateway serves: the model registry has a deployment, and the base policy only seeds an empty registry (to serve an artifact: outerloop models register DIR, then outerloop models promote VERSION)', {
      basePolicy: baseDir,
      serving: production.id,
      servingArtifact: this.artifactDir(production.artifactPath),
      deployment: row.id,
      reason: row.reason,
    });
  }

  /** Idempotent across replicas: ids are derived from the artifact, so a second insert is a no-op. */
  private async registerBasePolicy(): Promise<DeploymentRecord> {
    const dir = resolve(this.basePolicyDir);
    const manifest = await readArtifactManifest(dir);
    const versionId = baseVersionId(manifest.artifactId);
    await this.store.transactions.run(async (tx) => {
      await tx.modelRegistry.register(
        { id: versionId, kind: 'policy', parentId: null, artifactPath: dir, sha256: manifest.artifactId, status: 'production' },
        { ifAbsent: true },
      );
      await tx.deployments.insertIfAbsent({
        id: BASE_DEPLOYMENT_ID,
        productionModelId: versionId,
        canaryModelId: null,
        canaryWeight: 0,
        shadowModelId: null,
        reason: `empty registry: base policy ${dir} registered as production on first start`,
        createdAt: new Date(),
      });
    });
    this.log.info('registry was empty: base policy registered as the production version', { version: versionId, artifactDir: dir });
    const row = await this.store.deployments.current();
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
