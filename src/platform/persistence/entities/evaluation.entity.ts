import { Entity, Index, JoinColumn, ManyToOne, type Relation } from 'typeorm';
import { IdColumn, IdPrimaryColumn, JsonColumn, TimestampColumn, VarcharColumn } from './columns.js';
import { CheckpointEntity } from './checkpoint.entity.js';
import type { MetricWithCI } from '../../../domain/evaluation.js';
import { ModelVersionEntity } from './model-version.entity.js';

@Entity({ name: 'evaluations' })
@Index('idx_evaluations_model_suite', ['modelVersionId', 'suite'])
@Index('idx_evaluations_checkpoint', ['checkpointId'])
export class EvaluationEntity {
  @IdPrimaryColumn()
  id!: string;

  @IdColumn('model_version_id')
  modelVersionId!: string;

  @ManyToOne(() => ModelVersionEntity, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'model_version_id', foreignKeyConstraintName: 'fk_evaluations_model' })
  modelVersion?: Relation<ModelVersionEntity>;

  @IdColumn('checkpoint_id', { nullable: true })
  checkpointId!: string | null;

  @ManyToOne(() => CheckpointEntity, { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'checkpoint_id', foreignKeyConstraintName: 'fk_evaluations_checkpoint' })
  checkpoint?: Relation<CheckpointEntity> | null;

  @VarcharColumn('suite', 100)
  suite!: string;

  @JsonColumn('metrics')
  metrics!: Record<string, MetricWithCI>;

  @TimestampColumn('created_at')
  createdAt!: Date;
}
