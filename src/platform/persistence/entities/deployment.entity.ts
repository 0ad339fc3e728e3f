import { Entity, Index, JoinColumn, ManyToOne, type Relation } from 'typeorm';
import { FloatColumn, IdColumn, IdPrimaryColumn, TextColumn, TimestampColumn } from './columns.js';
import type { DeploymentRecord } from '../../../domain/deployments.js';
import { ModelVersionEntity } from './model-version.entity.js';

/** Traffic-split history: the newest row is the current routing. */
@Entity({ name: 'deployments' })
@Index('idx_deployments_created', ['createdAt'])
export class DeploymentEntity implements DeploymentRecord {
  @IdPrimaryColumn()
  id!: string;

  @IdColumn('production_model_id')
  productionModelId!: string;

  @ManyToOne(() => ModelVersionEntity, { nullable: false, onDelete: 'NO ACTION' })
  @JoinColumn({ name: 'production_model_id', foreignKeyConstraintName: 'fk_deployments_production' })
  productionModel?: Relation<ModelVersionEntity>;

  @IdColumn('canary_model_id', { nullable: true })
  canaryModelId!: string | null;

  @ManyToOne(() => ModelVersionEntity, { nullable: true, onDelete: 'NO ACTION' })
  @JoinColumn({ name: 'canary_model_id', foreignKeyConstraintName: 'fk_deployments_canary' })
  canaryModel?: Relation<ModelVersionEntity> | null;

  /** fraction of traffic (0..1) routed to the canary */
  @FloatColumn('canary_weight', { default: 0 })
  canaryWeight!: number;

  @IdColumn('shadow_model_id', { nullable: true })
  shadowModelId!: string | null;

  @ManyToOne(() => ModelVersionEntity, { nullable: true, onDelete: 'NO ACTION' })
  @JoinColumn({ name: 'shadow_model_id', foreignKeyConstraintName: 'fk_deployments_shadow' })
  shadowModel?: Relation<ModelVersionEntity> | null;

  @TextColumn('reason')
  reason!: string;

  @TimestampColumn('created_at')
  createdAt!: Date;
}
