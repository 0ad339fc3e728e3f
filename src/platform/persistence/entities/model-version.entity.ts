import { Entity, Index, JoinColumn, ManyToOne, type Relation } from 'typeorm';
import { IdColumn, IdPrimaryColumn, JsonColumn, TimestampColumn, VarcharColumn, type JsonObject } from './columns.js';
import { DatasetSnapshotEntity } from './dataset-snapshot.entity.js';
import type { ModelKind, ModelStatus, ModelVersionRecord } from '../../../domain/models.js';
import { TrainingRunEntity } from './training-run.entity.js';

/** The model registry (status changes go through ModelRegistryRepository.transition). */
@Entity({ name: 'model_versions' })
@Index('idx_models_kind_status', ['kind', 'status'])
@Index('idx_models_parent', ['parentId'])
@Index('idx_models_training_run', ['trainingRunId'])
export class ModelVersionEntity implements ModelVersionRecord {
  @IdPrimaryColumn()
  id!: string;

  @VarcharColumn('kind', 16)
  kind!: ModelKind;

  @IdColumn('parent_id', { nullable: true })
  parentId!: string | null;

  @ManyToOne(() => ModelVersionEntity, { nullable: true, onDelete: 'NO ACTION' })
  @JoinColumn({ name: 'parent_id', foreignKeyConstraintName: 'fk_models_parent' })
  parent?: Relation<ModelVersionEntity> | null;

  @VarcharColumn('artifact_path', 500)
  artifactPath!: string;

  @VarcharColumn('sha256', 64)
  sha256!: string;

  @VarcharColumn('status', 16)
  status!: ModelStatus;

  @IdColumn('training_run_id', { nullable: true })
  trainingRunId!: string | null;

  @ManyToOne(() => TrainingRunEntity, { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'training_run_id', foreignKeyConstraintName: 'fk_models_training_run' })
  trainingRun?: Relation<TrainingRunEntity> | null;

  @IdColumn('dataset_snapshot_id', { nullable: true })
  datasetSnapshotId!: string | null;

  @ManyToOne(() => DatasetSnapshotEntity, { nullable: true, onDelete: 'NO ACTION' })
  @JoinColumn({ name: 'dataset_snapshot_id', foreignKeyConstraintName: 'fk_models_snapshot' })
  datasetSnapshot?: Relation<DatasetSnapshotEntity> | null;

  @JsonColumn('metrics')
  metrics!: JsonObject;

  @TimestampColumn('created_at')
  createdAt!: Date;
}
