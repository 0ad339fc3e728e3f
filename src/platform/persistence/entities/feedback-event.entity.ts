import { Entity, Index, JoinColumn, ManyToOne, type Relation } from 'typeorm';
import { FloatColumn, IdColumn, IdPrimaryColumn, TextColumn, TimestampColumn, VarcharColumn } from './columns.js';
import type { FeedbackRecord, FeedbackType } from '../../../domain/feedback.js';
import { CompletionEntity } from './completion.entity.js';

/** One feedback event from `outerloop.feedback` (upsert by event id). The FK to
 *  completions is enforced: feedback for a completion the platform never served is
 *  rejected (the ingest consumer retries it briefly, then dead-letters it). */
@Entity({ name: 'feedback_events' })
@Index('idx_feedback_completion', ['completionId'])
@Index('idx_feedback_type_created', ['type', 'createdAt'])
@Index('idx_feedback_user', ['userId'])
@Index('idx_feedback_ingested', ['ingestedAt'])
export class FeedbackEventEntity implements FeedbackRecord {
  @IdPrimaryColumn()
  id!: string;

  @IdColumn('completion_id')
  completionId!: string;

  @ManyToOne(() => CompletionEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'completion_id', foreignKeyConstraintName: 'fk_feedback_completion' })
  completion?: Relation<CompletionEntity>;

  @VarcharColumn('type', 16)
  type!: FeedbackType;

  /** thumbs ±1, rating 1..5, pairwise 1|-1|0 (this completion | the other | tie), edit null */
  @FloatColumn('value', { nullable: true })
  value!: number | null;

  /** pairwise only; not an FK because the other completion may be ingested later */
  @IdColumn('other_completion_id', { nullable: true })
  otherCompletionId!: string | null;

  @TextColumn('edited_response', { nullable: true })
  editedResponse!: string | null;

  @TextColumn('comment', { nullable: true })
  comment!: string | null;

  @IdColumn('user_id', { nullable: true })
  userId!: string | null;

  @IdColumn('api_key_id', { nullable: true })
  apiKeyId!: string | null;

  @TimestampColumn('created_at')
  createdAt!: Date;

  @TimestampColumn('ingested_at')
  ingestedAt!: Date;
}
