import { Entity, Index, JoinColumn, ManyToOne, type Relation } from 'typeorm';
import { IdColumn, IdPrimaryColumn, IntColumn, JsonColumn, TextColumn, TimestampColumn, VarcharColumn, type JsonObject } from './columns.js';
import { DatasetSnapshotEntity } from './dataset-snapshot.entity.js';
import type { TrainingKind, TrainingStatus } from '../../../domain/training.js';
import { ModelVersionEntity } from './model-version.entity.js';

@Entity({ name: 'training_runs' })
@Index('idx_runs_status', ['status'])
@Index('idx_runs_base_model', ['baseModelId'])
@Index('idx_runs_snapshot', ['datasetSnapshotId'])
export class TrainingRunEntity {
  @IdPrimaryColumn()
  id!: string;

  @VarcharColumn('kind', 16)
  kind!: TrainingKind;

  @JsonColumn('config')
  config!: JsonObject;

  @IdColumn('base_model_id', { nullable: true })
  baseModelId!: string | null;

  @ManyToOne(() => ModelVersionEntity, { nullable: true, onDelete: 'NO ACTION' })
  @JoinColumn({ name: 'base_model_id', foreignKeyConstraintName: 'fk_runs_base_model' })
  baseModel?: Relation<ModelVersionEntity> | null;

  @IdColumn('dataset_snapshot_id', { nullable: true })
  datasetSnapshotId!: string | null;

  @ManyToOne(() => DatasetSnapshotEntity, { nullable: true, onDelete: 'NO ACTION' })
  @JoinColumn({ name: 'dataset_snapshot_id', foreignKeyConstraintName: 'fk_runs_snapshot' })
  datasetSnapshot?: Relation<DatasetSnapshotEntity> | null;

  @VarcharColumn('status', 16)
  status!: TrainingStatus;

  @IntColumn('seed')
  seed!: number;

  @TimestampColumn('started_at', { nullable: true })
  startedAt!: Date | null;

  @TimestampColumn('finished_at', { nullable: true })
  finishedAt!: Date | null;

  @TextColumn('error', { nullable: true })
  error!: string | null;

  @TimestampColumn('created_at')
  createdAt!: Date;
}
