// Registering and promoting policy artifacts by hand: the operator's path from a
// `train-base --out DIR` (or any policy artifact) to the gateways. The CLI
// (`outerloop models …`) and the admin API call the same two functions.
//  - register: verifies the artifact (every file's sha256 against its manifest),
//    copies it into the artifact store (the shared volume every gateway reads), and
//    records a `candidate` model version whose id derives from the artifact, so
//    registering the same artifact twice is a no-op;
//  - promote: a new `deployments` row with the version as production (the previous
//    production version is retired) and a `promoted` model event, which every
//    gateway consumes in its own group and answers by reloading.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { DataSource } from 'typeorm';
import { MANIFEST_FILE, readArtifactManifest, readVerifiedFile } from '../../../engine/artifact/artifact.js';
import type { ArtifactStore } from '../../../platform/artifacts/artifact-store.js';
import type { EventBus } from '../../../platform/messaging/event-bus.js';
import { EVENT_VERSION, Topic } from '../../../platform/messaging/events.js';
import { DeploymentEntity } from '../../../platform/persistence/entities/deployment.entity.js';
import { ModelVersionEntity, type ModelStatus } from '../../../platform/persistence/entities/model-version.entity.js';
import { serializeOnSqlite } from '../../../platform/persistence/sqlite-serializer.js';
import { baseVersionId, policyVersionRow, productionDeploymentRow } from '../routing/deployment-source.js';

/** Why a registry request was refused; `code` is stable for callers to branch on. */
export class ModelRegistryError extends Error {
  readonly retriable = false;
  constructor(
    readonly code: 'not_an_artifact' | 'not_a_policy' | 'version_not_found' | 'version_rejected',
    message: string,
  ) {
    super(message);
    this.name = 'ModelRegistryError';
  }
}

export interface RegisteredVersion {
  version: string;
  status: ModelStatus;
  artifactPath: string;
  /** false when the same artifact was registered before */
  created: boolean;
}

export interface PromotedVersion {
  version: string;
  deploymentId: string;
  previousProduction: string | null;
}

/** Where a registered policy lives inside the artifact store. */
export function policyArtifactPath(version: string): string {
  return `policies/${version}`;
}

export async function registerPolicy(ds: DataSource, artifacts: ArtifactStore, bus: EventBus | null, dir: string): Promise<RegisteredVersion> {
  const source = resolve(dir);
  let manifest;
  try {
    manifest = await readArtifactManifest(source);
  } catch (err) {
    throw new ModelRegistryError('not_an_artifact', `${source} is not a model artifact: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (manifest.kind !== 'policy') throw new ModelRegistryError('not_a_policy', `${source} is a ${manifest.kind} artifact; only policies are served`);
  const version = baseVersionId(manifest.artifactId);
  const existing = await ds.getRepository(ModelVersionEntity).findOne({ where: { id: version } });
  if (existing) return { version, status: existing.status, artifactPath: existing.artifactPath, created: false };

  // Copy before the row exists: a version in the registry always has its files.
  const target = policyArtifactPath(version);
  for (const name of Object.keys(manifest.files)) {
    await artifacts.put(`${target}/${name}`, await readVerifiedFile(source, manifest, name));
  }
  await artifacts.put(`${target}/${MANIFEST_FILE}`, JSON.stringify(manifest, null, 2) + '\n');

  const row = policyVersionRow(version, target, manifest.artifactId, 'candidate', { registeredFrom: source, parentArtifactId: manifest.parentArtifactId });
  // orIgnore: another operator registering the same artifact at once is the same version
  await serializeOnSqlite(ds, () => ds.createQueryBuilder().insert().into(ModelVersionEntity).values(row).orIgnore().execute());
  await bus?.publish(Topic.modelEvents, [
    { key: version, value: { v: EVENT_VERSION, eventId: randomUUID(), modelId: version, kind: 'registered', detail: { artifactPath: target }, createdAt: new Date().toISOString() } },
  ]);
  return { version, status: 'candidate', artifactPath: target, created: true };
}

export async function promotePolicy(ds: DataSource, bus: EventBus | null, version: string, reason: string): Promise<PromotedVersion> {
  const deploymentId = `deployment-${randomUUID()}`;
  const previousProduction = await serializeOnSqlite(ds, () =>
    ds.transaction(async (em) => {
      const target = await em.findOne(ModelVersionEntity, { where: { id: version } });
      if (!target) throw new ModelRegistryError('version_not_found', `no model version "${version}" (register it first: outerloop models register DIR)`);
      if (target.kind !== 'policy') throw new ModelRegistryError('not_a_policy', `model version ${version} is a ${target.kind} model; only policies are served`);
      if (target.status === 'rejected') throw new ModelRegistryError('version_rejected', `model version ${version} was rejected by the gate and cannot be promoted`);
      const current = await em.findOne(DeploymentEntity, { where: {}, order: { createdAt: 'DESC', id: 'DESC' } });
      const previous = current?.productionModelId ?? null;
      if (previous && previous !== version) await em.update(ModelVersionEntity, { id: previous }, { status: 'retired' });
      await em.update(ModelVersionEntity, { id: version }, { status: 'production' });
      // strictly after the current row: the newest row is the routing, and two rows in
      // the same millisecond would be ordered by their random ids
      const createdAt = new Date(Math.max(Date.now(), (current?.createdAt.getTime() ?? 0) + 1));
      await em.insert(DeploymentEntity, productionDeploymentRow(deploymentId, version, reason, createdAt));
      return previous;
    }),
  );
  await bus?.publish(Topic.modelEvents, [
    { key: version, value: { v: EVENT_VERSION, eventId: randomUUID(), modelId: version, kind: 'promoted', detail: { deploymentId, reason }, createdAt: new Date().toISOString() } },
  ]);
  return { version, deploymentId, previousProduction };
}

export interface ListedVersion {
  version: string;
  status: ModelStatus;
  artifactPath: string;
  createdAt: string;
  serving: boolean;
}

export async function listPolicies(ds: DataSource): Promise<ListedVersion[]> {
  const rows = await ds.getRepository(ModelVersionEntity).find({ where: { kind: 'policy' }, order: { createdAt: 'ASC', id: 'ASC' } });
  const current = await ds.getRepository(DeploymentEntity).findOne({ where: {}, order: { createdAt: 'DESC', id: 'DESC' } });
  return rows.map((r) => ({ version: r.id, status: r.status, artifactPath: r.artifactPath, createdAt: r.createdAt.toISOString(), serving: r.id === current?.productionModelId }));
}
