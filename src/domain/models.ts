// The model registry's vocabulary: what a model version is, where it came from
// (lineage), and the only ways its status may change.
import type { JsonObject } from './json.js';

export const MODEL_KINDS = ['policy', 'reward'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export const MODEL_STATUSES = ['candidate', 'canary', 'production', 'retired', 'rejected'] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];

/**
 * The status machine of a model version (ARCHITECTURE §1 steps 5–6):
 *   candidate → canary → production → retired, and a candidate or a canary that
 *   fails the gate or its canary is rejected.
 * Nothing comes back from retired or rejected: re-serving an old model is a new
 * deployment of a new candidate version, so the history stays true. A version may be
 * registered directly as production only when it is the first one (the base policy
 * of a fresh install); see `MODEL_INITIAL_STATUSES`.
 */
export const MODEL_STATUS_TRANSITIONS: Readonly<Record<ModelStatus, readonly ModelStatus[]>> = {
  candidate: ['canary', 'rejected'],
  canary: ['production', 'rejected'],
  production: ['retired'],
  retired: [],
  rejected: [],
};

/** Statuses a version may be registered with. */
export const MODEL_INITIAL_STATUSES: readonly ModelStatus[] = ['candidate', 'production'];

export function canTransitionModel(from: ModelStatus, to: ModelStatus): boolean {
  return MODEL_STATUS_TRANSITIONS[from].includes(to);
}

/** A status change the registry refuses. Not retriable: the same request fails again. */
export class IllegalModelTransitionError extends Error {
  readonly code = 'illegal_model_transition';
  readonly retriable = false;
  constructor(
    readonly modelId: string,
    readonly from: ModelStatus,
    readonly to: ModelStatus,
  ) {
    const allowed = MODEL_STATUS_TRANSITIONS[from];
    super(
      `model ${modelId}: cannot go from ${from} to ${to} (from ${from} only ${allowed.length ? allowed.join(' or ') : 'nothing — it is final'})`,
    );
    this.name = 'IllegalModelTransitionError';
  }
}

export function assertModelTransition(modelId: string, from: ModelStatus, to: ModelStatus): void {
  if (!canTransitionModel(from, to)) throw new IllegalModelTransitionError(modelId, from, to);
}

/** One version in the registry (the `model_versions` table). */
export interface ModelVersionRecord {
  id: string;
  kind: ModelKind;
  /** the version it was trained from (null for a base model) */
  parentId: string | null;
  /** relative to the artifact store unless absolute */
  artifactPath: string;
  sha256: string;
  status: ModelStatus;
  trainingRunId: string | null;
  datasetSnapshotId: string | null;
  metrics: JsonObject;
  createdAt: Date;
}

/** What a new version is registered with; the status defaults to candidate. */
export type NewModelVersion = Omit<ModelVersionRecord, 'status' | 'createdAt' | 'metrics' | 'trainingRunId' | 'datasetSnapshotId' | 'parentId'> &
  Partial<Pick<ModelVersionRecord, 'status' | 'createdAt' | 'metrics' | 'trainingRunId' | 'datasetSnapshotId' | 'parentId'>>;

export function validateNewModelVersion(v: NewModelVersion): void {
  if (!v.id) throw new Error('model version id: required');
  if (!(MODEL_KINDS as readonly string[]).includes(v.kind)) throw new Error(`model version kind: "${v.kind}" is not one of ${MODEL_KINDS.join(', ')}`);
  const status = v.status ?? 'candidate';
  if (!MODEL_INITIAL_STATUSES.includes(status)) {
    throw new Error(`model version status: a version is registered as ${MODEL_INITIAL_STATUSES.join(' or ')}, not ${status}`);
  }
  if (!/^[0-9a-f]{64}$/.test(v.sha256)) throw new Error(`model version sha256: 64 lowercase hex characters, got "${v.sha256}"`);
  if (!v.artifactPath) throw new Error('model version artifactPath: required');
}

/** A version's ancestry, the version itself first and its base model last. */
export type ModelLineage = ModelVersionRecord[];

/** No version with this id in the registry. */
export class ModelVersionNotFoundError extends Error {
  readonly code = 'model_version_not_found';
  readonly retriable = false;
  constructor(readonly modelId: string, role = 'model version') {
    super(`${role} ${modelId} is not in the registry`);
    this.name = 'ModelVersionNotFoundError';
  }
}

/** Registering a version that exists, or a second production version of a kind. */
export class ModelRegistrationError extends Error {
  readonly code = 'model_registration_refused';
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'ModelRegistrationError';
  }
}

/** The status kept changing under a transition (other writers); try again. */
export class ModelTransitionConflictError extends Error {
  readonly code = 'model_transition_conflict';
  readonly retriable = true;
  constructor(readonly modelId: string, readonly to: ModelStatus) {
    super(`model ${modelId}: its status changed concurrently while moving it to ${to}; retry`);
    this.name = 'ModelTransitionConflictError';
  }
}
