// The model registry (the `model_versions` table): versions, their lineage (parent,
// dataset snapshot, training run) and their status. Shared by the gateway (what to
// serve), the trainer (registers candidates) and the orchestrator (canary, promote,
// reject, retire). Every status change goes through `transition`, which refuses what
// the status machine in domain/models.ts does not allow.
import { In } from 'typeorm';
import {
  assertModelTransition,
  ModelRegistrationError,
  ModelTransitionConflictError,
  ModelVersionNotFoundError,
  validateNewModelVersion,
  type ModelKind,
  type ModelLineage,
  type ModelStatus,
  type ModelVersionRecord,
  type NewModelVersion,
} from '../../../domain/models.js';
import { ModelVersionEntity } from '../entities/model-version.entity.js';
import { TypeOrmScope } from './typeorm-scope.js';

/** Compare-and-set attempts before a transition gives up with a retriable conflict. */
const TRANSITION_ATTEMPTS = 3;

export interface IModelRegistryRepository {
  /**
   * Register a version (status candidate unless given; production only for the first
   * version of its kind). Its parent must be registered. With `ifAbsent`, an existing
   * version of the same id is returned unchanged instead of refused.
   */
  register(version: NewModelVersion, opts?: { ifAbsent?: boolean }): Promise<ModelVersionRecord>;
  get(id: string): Promise<ModelVersionRecord | null>;
  findByIds(ids: readonly string[]): Promise<ModelVersionRecord[]>;
  /** Versions of a kind in a status, newest first. */
  findByStatus(kind: ModelKind, status: ModelStatus): Promise<ModelVersionRecord[]>;
  /** Move a version to a new status; IllegalModelTransitionError names both states when the move is not allowed. */
  transition(id: string, to: ModelStatus): Promise<ModelVersionRecord>;
  /** The version, its parent, its parent's parent, … down to its base model. */
  lineage(id: string): Promise<ModelLineage>;
}

export class TypeOrmModelRegistryRepository extends TypeOrmScope implements IModelRegistryRepository {
  private get versions() {
    return this.manager.getRepository(ModelVersionEntity);
  }

  async register(version: NewModelVersion, opts: { ifAbsent?: boolean } = {}): Promise<ModelVersionRecord> {
    validateNewModelVersion(version);
    const row: ModelVersionRecord = {
      id: version.id,
      kind: version.kind,
      parentId: version.parentId ?? null,
      artifactPath: version.artifactPath,
      sha256: version.sha256,
      status: version.status ?? 'candidate',
      trainingRunId: version.trainingRunId ?? null,
      datasetSnapshotId: version.datasetSnapshotId ?? null,
      metrics: version.metrics ?? {},
      createdAt: version.createdAt ?? new Date(),
    };
    return this.write(async (m) => {
      const versions = m.getRepository(ModelVersionEntity);
      const existing = await versions.findOneBy({ id: row.id });
      if (existing) {
        if (opts.ifAbsent) return existing;
        throw new ModelRegistrationError(`model version ${row.id} is already registered (status ${existing.status})`);
      }
      if (row.parentId && !(await versions.existsBy({ id: row.parentId }))) throw new ModelVersionNotFoundError(row.parentId, `parent of ${row.id}:`);
      if (row.status === 'production') {
        const current = await versions.findOneBy({ kind: row.kind, status: 'production' });
        if (current) {
          throw new ModelRegistrationError(
            `model version ${row.id}: ${current.id} is the production ${row.kind} model; register a candidate and promote it through canary`,
          );
        }
      }
      // orIgnore: another replica registering the same derived id at the same moment wrote the same row
      await m.createQueryBuilder().insert().into(ModelVersionEntity).values(row).orIgnore().updateEntity(false).execute();
      return (await versions.findOneBy({ id: row.id })) ?? row;
    });
  }

  get(id: string): Promise<ModelVersionRecord | null> {
    return this.versions.findOneBy({ id });
  }

  findByIds(ids: readonly string[]): Promise<ModelVersionRecord[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.versions.findBy({ id: In([...new Set(ids)]) });
  }

  findByStatus(kind: ModelKind, status: ModelStatus): Promise<ModelVersionRecord[]> {
    return this.versions.find({ where: { kind, status }, order: { createdAt: 'DESC', id: 'DESC' } });
  }

  async transition(id: string, to: ModelStatus): Promise<ModelVersionRecord> {
    for (let attempt = 0; attempt < TRANSITION_ATTEMPTS; attempt++) {
      const current = await this.get(id);
      if (!current) throw new ModelVersionNotFoundError(id);
      assertModelTransition(id, current.status, to);
      // compare-and-set on the status read above: a concurrent transition makes this
      // update match nothing, and the loop re-reads and re-checks
      const result = await this.write((m) => m.getRepository(ModelVersionEntity).update({ id, status: current.status }, { status: to }));
      if ((result.affected ?? 0) === 1) return { ...current, status: to };
    }
    throw new ModelTransitionConflictError(id, to);
  }

  async lineage(id: string): Promise<ModelLineage> {
    const chain: ModelLineage = [];
    const seen = new Set<string>();
    for (let next: string | null = id; next !== null; ) {
      if (seen.has(next)) throw new Error(`model registry: lineage of ${id} loops at ${next}`);
      seen.add(next);
      const v = await this.get(next);
      if (!v) throw new ModelVersionNotFoundError(next, chain.length ? `ancestor of ${id}:` : 'model version');
      chain.push(v);
      next = v.parentId;
    }
    return chain;
  }
}
