import { Entity, Index, JoinColumn, ManyToOne, type Relation } from 'typeorm';
import { IdColumn, IdPrimaryColumn, JsonColumn, TimestampColumn, VarcharColumn } from './columns.js';
import { CheckpointEntity } from './checkpoint.entity.js';
import type { EvaluationSide, MetricWithCI } from '../../../domain/evaluation.js';
import type { JsonObject } from '../../../domain/json.js';
import { ModelVersionEntity } from './model-version.entity.js';

@Entity({ name: 'evaluations' })
@Index('idx_evaluations_model_suite', ['modelVersionId', 'suite'])
@Index('idx_evaluations_checkpoint', ['checkpointId'])
@Index('idx_evaluations_evaluation', ['evaluationId'])
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

  /** one evaluation's rows (every suite, both sides) share it; null on rows written before */
  @IdColumn('evaluation_id', { nullable: true })
  evaluationId!: string | null;

  @VarcharColumn('side', 16, { nullable: true })
  side!: EvaluationSide | null;

  @IdColumn('compared_with_model_id', { nullable: true })
  comparedWithModelId!: string | null;

  @JsonColumn('details', { nullable: true })
  details!: JsonObject | null;

  @VarcharColumn('report_path', 500, { nullable: true })
  reportPath!: string | null;

  @TimestampColumn('created_at')
  createdAt!: Date;
}
