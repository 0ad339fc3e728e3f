// Every entity of the main schema (ARCHITECTURE §4). The data source adds the
// embedded event bus's entities (src/platform/messaging/embedded/bus.entities.ts).
import { ApiKeyEntity } from './api-key.entity.js';
import { CheckpointEntity } from './checkpoint.entity.js';
import { CompletionEntity } from './completion.entity.js';
import { DatasetSnapshotEntity } from './dataset-snapshot.entity.js';
import { DeploymentEntity } from './deployment.entity.js';
import { EvaluationEntity } from './evaluation.entity.js';
import { FeedbackEventEntity } from './feedback-event.entity.js';
import { GateDecisionEntity } from './gate-decision.entity.js';
import { JobEntity } from './job.entity.js';
import { LoopIterationEntity } from './loop-iteration.entity.js';
import { LoopLeaseEntity } from './loop-lease.entity.js';
import { ModelVersionEntity } from './model-version.entity.js';
import { PreferencePairEntity } from './preference-pair.entity.js';
import { TrainingRunEntity } from './training-run.entity.js';
import { UserFlagEntity } from './user-flag.entity.js';

export type { JsonObject } from './columns.js';
export * from './api-key.entity.js';
export * from './checkpoint.entity.js';
export * from './completion.entity.js';
export * from './dataset-snapshot.entity.js';
export * from './deployment.entity.js';
export * from './evaluation.entity.js';
export * from './feedback-event.entity.js';
export * from './gate-decision.entity.js';
export * from './job.entity.js';
export * from './loop-iteration.entity.js';
export * from './loop-lease.entity.js';
export * from './model-version.entity.js';
export * from './preference-pair.entity.js';
export * from './training-run.entity.js';
export * from './user-flag.entity.js';

export const ENTITIES = [
  CompletionEntity,
  FeedbackEventEntity,
  PreferencePairEntity,
  DatasetSnapshotEntity,
  ModelVersionEntity,
  TrainingRunEntity,
  CheckpointEntity,
  EvaluationEntity,
  GateDecisionEntity,
  DeploymentEntity,
  LoopIterationEntity,
  ApiKeyEntity,
  UserFlagEntity,
  JobEntity,
  LoopLeaseEntity,
];
