import { Column, Entity, Index, JoinColumn, ManyToOne, type Relation } from 'typeorm';
import { IdColumn, IdPrimaryColumn, IntColumn, JsonColumn, TextColumn, TimestampColumn, VarcharColumn } from './columns.js';
import { DatasetSnapshotEntity } from './dataset-snapshot.entity.js';
import type { LoopIterationRecord, LoopState, LoopStateChange, LoopSteps, LoopTrigger } from '../../../domain/loop.js';
import { ModelVersionEntity } from './model-version.entity.js';

/** One pass of the outer loop as a durable state machine (ARCHITECTURE §1). */
@Entity({ name: 'loop_iterations' })
@Index('idx_loop_state', ['state'])
@Index('idx_loop_created', ['createdAt'])
export class LoopIterationEntity implements LoopIterationRecord {
  @IdPrimaryColumn()
  id!: string;

  @VarcharColumn('state', 40)
  state!: LoopState;

  @JsonColumn('state_history')
  stateHistory!: LoopStateChange[];

  @VarcharColumn('trigger', 16, { default: 'manual' })
  trigger!: LoopTrigger;

  /** every finished step's job, inputs and outputs (simple-json; '{}' for rows older than the column) */
  @Column({ name: 'steps', type: 'simple-json', default: '{}' })
  steps!: LoopSteps;

  @VarcharColumn('paused_from', 40, { nullable: true })
  pausedFrom!: LoopState | null;

  /** bumped by every write; writes are compare-and-set on it */
  @IntColumn('revision', { default: 0 })
  revision!: number;

  @IdColumn('snapshot_id', { nullable: true })
  snapshotId!: string | null;

  @ManyToOne(() => DatasetSnapshotEntity, { nullable: true, onDelete: 'NO ACTION' })
  @JoinColumn({ name: 'snapshot_id', foreignKeyConstraintName: 'fk_loop_snapshot' })
  snapshot?: Relation<DatasetSnapshotEntity> | null;

  @IdColumn('reward_model_id', { nullable: true })
  rewardModelId!: string | null;

  @ManyToOne(() => ModelVersionEntity, { nullable: true, onDelete: 'NO ACTION' })
  @JoinColumn({ name: 'reward_model_id', foreignKeyConstraintName: 'fk_loop_reward_model' })
  rewardModel?: Relation<ModelVersionEntity> | null;

  @IdColumn('candidate_model_id', { nullable: true })
  candidateModelId!: string | null;

  @ManyToOne(() => ModelVersionEntity, { nullable: true, onDelete: 'NO ACTION' })
  @JoinColumn({ name: 'candidate_model_id', foreignKeyConstraintName: 'fk_loop_candidate_model' })
  candidateModel?: Relation<ModelVersionEntity> | null;

  @TextColumn('error', { nullable: true })
  error!: string | null;

  @IntColumn('attempt', { default: 0 })
  attempt!: number;

  @TimestampColumn('updated_at')
  updatedAt!: Date;

  @TimestampColumn('created_at')
  createdAt!: Date;
}
