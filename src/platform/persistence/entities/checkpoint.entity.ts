import { Entity, Index, JoinColumn, ManyToOne, type Relation } from 'typeorm';
import { IdColumn, IdPrimaryColumn, IntColumn, JsonColumn, TimestampColumn, VarcharColumn } from './columns.js';
import { TrainingRunEntity } from './training-run.entity.js';

/** Per-step training metrics (reward, kl, entropy, clipFraction, valueLoss,
 *  responseLength, …) and, when saved, the checkpoint's artifact. */
@Entity({ name: 'checkpoints' })
@Index('idx_checkpoints_run_step', ['runId', 'step'], { unique: true })
export class CheckpointEntity {
  @IdPrimaryColumn()
  id!: string;

  @IdColumn('run_id')
  runId!: string;

  @ManyToOne(() => TrainingRunEntity, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id', foreignKeyConstraintName: 'fk_checkpoints_run' })
  run?: Relation<TrainingRunEntity>;

  @IntColumn('step')
  step!: number;

  @JsonColumn('metrics')
  metrics!: Record<string, number>;

  @VarcharColumn('artifact_path', 500, { nullable: true })
  artifactPath!: string | null;

  @TimestampColumn('created_at')
  createdAt!: Date;
}
