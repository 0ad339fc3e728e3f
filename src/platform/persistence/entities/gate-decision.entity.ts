import { Entity, Index, JoinColumn, ManyToOne, type Relation } from 'typeorm';
import { IdColumn, IdPrimaryColumn, JsonColumn, TimestampColumn, VarcharColumn } from './columns.js';
import { LoopIterationEntity } from './loop-iteration.entity.js';
import type { GateRuleRecord, GateVerdict } from '../../../domain/evaluation.js';
import { ModelVersionEntity } from './model-version.entity.js';

/** Every rule the gate evaluated: its value, threshold and verdict. A decision
 *  belongs to the loop iteration that asked for it (loop_iteration_id); an iteration
 *  finds its decisions through this column (idx_gate_iteration), the latest being the
 *  one in force. */
@Entity({ name: 'gate_decisions' })
@Index('idx_gate_iteration', ['loopIterationId'])
@Index('idx_gate_candidate', ['candidateModelId'])
export class GateDecisionEntity {
  @IdPrimaryColumn()
  id!: string;

  @IdColumn('loop_iteration_id', { nullable: true })
  loopIterationId!: string | null;

  @ManyToOne(() => LoopIterationEntity, { nullable: true, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'loop_iteration_id', foreignKeyConstraintName: 'fk_gate_iteration' })
  loopIteration?: Relation<LoopIterationEntity> | null;

  @IdColumn('candidate_model_id')
  candidateModelId!: string;

  @ManyToOne(() => ModelVersionEntity, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'candidate_model_id', foreignKeyConstraintName: 'fk_gate_candidate' })
  candidateModel?: Relation<ModelVersionEntity>;

  @VarcharColumn('verdict', 16)
  verdict!: GateVerdict;

  @JsonColumn('rules')
  rules!: GateRuleRecord[];

  @TimestampColumn('created_at')
  createdAt!: Date;
}
