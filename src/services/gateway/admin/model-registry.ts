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
import { IllegalModelTransitionError, MODEL_STATUSES, type ModelStatus, type ModelVersionRecord } from '../../../domain/models.js';
import { MANIFEST_FILE, readArtifactManifest, readVerifiedFile } from '../../../engine/artifact/artifact.js';
import type { ArtifactStore } from '../../../platform/artifacts/artifact-store.js';
import type { EventBus } from '../../../platform/messaging/event-bus.js';
import { EVENT_VERSION, Topic } from '../../../platform/messaging/events.js';
import type { IDeploymentRepository, IModelRegistryRepository, ITransactionRunner } from '../../../platform/persistence/repositories/index.js';
import { baseVersionId } from '../routing/deployment-source.js';

/** The repositories the registry commands use. */
export interface RegistryRepositories {
  modelRegistry: IModelRegistryRepository;
  deployments: IDeploymentRepository;
  transactions: ITransactionRunner;
}

/** Why a registry request was refused; `code` is stable for callers to branch on. */
export class ModelRegistryError extends Error {
  readonly retriable = false;
  constructor(
    readonly code: 'not_an_artifact' | 'not_a_policy' | 'version_not_found' | 'version_final',
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

export async function registerPolicy(repos: RegistryRepositories, artifacts: ArtifactStore, bus: EventBus | null, dir: string): Promise<RegisteredVersion> {
  const source = resolve(dir);
  let manifest;
  try {
    manifest = await readArtifactManifest(source);
  } catch (err) {
    throw new ModelRegistryError('not_an_artifact', `${source} is not a model artifact: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (manifest.kind !== 'policy') throw new ModelRegistryError('not_a_policy', `${source} is a ${manifest.kind} artifact; only policies are served`);
  const version = baseVersionId(manifest.artifactId);
  const existing = await repos.modelRegistry.get(version);
  if (existing) return { version, status: existing.status, artifactPath: existing.artifactPath, created: false };

  // Copy before the row exists: a version in the registry always has its files.
  const target = policyArtifactPath(version);
  for (const name of Object.keys(manifest.files)) {
    await artifacts.put(`${target}/${name}`, await readVerifiedFile(source, manifest, name));
  }
  await artifacts.put(`${target}/${MANIFEST_FILE}`, JSON.stringify(manifest, null, 2) + '\n');
  // lineage when the artifact it was trained from is registered too
  const parent = manifest.parentArtifactId ? await repos.modelRegistry.get(baseVersionId(manifest.parentArtifactId)) : null;
  // ifAbsent: another operator registering the same artifact at once is the same version
  const row = await repos.modelRegistry.register(
    { id: version, kind: 'policy', parentId: parent?.id ?? null, artifactPath: target, sha256: manifest.artifactId, metrics: { registeredFrom: source } },
    { ifAbsent: true },
  );
  await bus?.publish(Topic.modelEvents, [
    { key: version, value: { v: EVENT_VERSION, eventId: randomUUID(), modelId: version, kind: 'registered', detail: { artifactPath: target }, createdAt: new Date().toISOString() } },
  ]);
  return { version, status: row.status, artifactPath: target, created: true };
}

/**
 * An operator's promotion: all traffic to `version` at once. The status machine
 * (domain/models.ts) has no shortcut from candidate to production, so the version
 * passes through canary in the same transaction; the deployment's reason records that
 * it was promoted by hand, without a canary period.
 */
export async function promotePolicy(repos: RegistryRepositories, bus: EventBus | null, version: string, reason: string): Promise<PromotedVersion> {
  const deploymentId = `deployment-${randomUUID()}`;
  const previousProduction = await repos.transactions.run(async (tx) => {
    const target = await tx.modelRegistry.get(version);
    if (!target) throw new ModelRegistryError('version_not_found', `no model version "${version}" (register it first: outerloop models register DIR)`);
    if (target.kind !== 'policy') throw new ModelRegistryError('not_a_policy', `model version ${version} is a ${target.kind} model; only policies are served`);
    const current = await tx.deployments.current();
    const previous = current?.productionModelId ?? null;
    // retired and rejected are final (domain/models.ts): the history stays true
    const final = () => new ModelRegistryError('version_final', `model version ${version} is ${target.status}: retired and rejected versions do not serve again (the registry keeps its history true)`);
    if (target.status === 'retired' || target.status === 'rejected') throw final();
    try {
      if (target.status === 'candidate') await tx.modelRegistry.transition(version, 'canary');
      if (target.status === 'candidate' || target.status === 'canary') await tx.modelRegistry.transition(version, 'production');
    } catch (err) {
      // another writer moved it meanwhile (e.g. the gate rejected it)
      if (err instanceof IllegalModelTransitionError) throw final();
      throw err;
    }
    if (previous && previous !== version && (await tx.modelRegistry.get(previous))?.status === 'production') await tx.modelRegistry.transition(previous, 'retired');
    // strictly after the current row: the newest row is the routing, and two rows in
    // the same millisecond would be ordered by their random ids
    const createdAt = new Date(Math.max(Date.now(), (current?.createdAt.getTime() ?? 0) + 1));
    await tx.deployments.insertIfAbsent({ id: deploymentId, productionModelId: version, canaryModelId: null, canaryWeight: 0, shadowModelId: null, reason: `${reason} (promoted by an operator, no canary)`, createdAt });
    return previous;
  });
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

export async function listPolicies(repos: RegistryRepositories): Promise<ListedVersion[]> {
  const rows: ModelVersionRecord[] = [];
  for (const status of MODEL_STATUSES) rows.push(...(await repos.modelRegistry.findByStatus('policy', status)));
  rows.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
  const current = await repos.deployments.current();
  return rows.map((r) => ({ version: r.id, status: r.status, artifactPath: r.artifactPath, createdAt: r.createdAt.toISOString(), serving: r.id === current?.productionModelId }));
}
