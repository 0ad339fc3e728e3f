import { Entity, Index, JoinColumn, ManyToOne, type Relation } from 'typeorm';
import { IdColumn, IdPrimaryColumn, JsonColumn, TimestampColumn, VarcharColumn } from './columns.js';
import { LoopIterationEntity } from './loop-iteration.entity.js';
import type { GateRuleRecord, GateVerdict } from '../../../domain/evaluation.js';
import { ModelVersionEntity } from './model-version.entity.js';
import type { JsonObject } from '../../../domain/json.js';

/** Every rule the gate evaluated: its value, threshold and result, the verdict
 *  (pass | fail | needs_review), the policy, the checkpoint chosen and the inputs read. A decision
 *  belongs to the loop iteration that asked for it (loop_iteration_id); an iteration
 *  finds its decisions through this column (idx_gate_iteration), the latest being the
 *  one in force. */
@Entity({ name: 'gate_decisions' })
@Index('idx_gate_iteration', ['loopIterationId'])
@Index('idx_gate_candidate', ['candidateModelId'])
@Index('idx_gate_evaluation', ['evaluationId'])
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

  /** the evaluation whose evidence was judged; null on rows written before */
  @IdColumn('evaluation_id', { nullable: true })
  evaluationId!: string | null;

  @VarcharColumn('policy_name', 100, { nullable: true })
  policyName!: string | null;

  @JsonColumn('missing', { nullable: true })
  missing!: string[] | null;

  @JsonColumn('chosen_checkpoint', { nullable: true })
  chosenCheckpoint!: JsonObject | null;

  /** the metric record the rules read (dry runs replay other policies over it) */
  @JsonColumn('inputs', { nullable: true })
  inputs!: JsonObject | null;

  @TimestampColumn('created_at')
  createdAt!: Date;
}
