import { Entity, Index, JoinColumn, ManyToOne, type Relation } from 'typeorm';
import { FloatColumn, IdColumn, IdPrimaryColumn, IntColumn, JsonColumn, TextColumn, TimestampColumn, VarcharColumn } from './columns.js';
import type { PreferencePairRow } from '../../../domain/dataset/dataset.types.js';
import type { ChatMessage } from '../../../domain/completions.js';
import type { PreferenceSource } from '../../../domain/feedback.js';
import { CompletionEntity } from './completion.entity.js';

/** A derived preference (chosen ≻ rejected for one prompt). The id is a hash of
 *  (prompt, chosen text, rejected text, source), so re-deriving from the same events
 *  upserts the same row instead of adding a duplicate. */
@Entity({ name: 'preference_pairs' })
@Index('idx_pairs_prompt_hash', ['promptHash'])
@Index('idx_pairs_source_created', ['source', 'createdAt'])
@Index('idx_pairs_chosen_completion', ['chosenCompletionId'])
@Index('idx_pairs_rejected_completion', ['rejectedCompletionId'])
export class PreferencePairEntity implements PreferencePairRow {
  @IdPrimaryColumn()
  id!: string;

  /** sha256 of the canonical prompt messages: the unit of the train/held-out split */
  @VarcharColumn('prompt_hash', 64)
  promptHash!: string;

  @JsonColumn('prompt_messages')
  promptMessages!: ChatMessage[];

  @IdColumn('chosen_completion_id', { nullable: true })
  chosenCompletionId!: string | null;

  @ManyToOne(() => CompletionEntity, { onDelete: 'SET NULL', nullable: true })
  @JoinColumn({ name: 'chosen_completion_id', foreignKeyConstraintName: 'fk_pairs_chosen_completion' })
  chosenCompletion?: Relation<CompletionEntity> | null;

  @IdColumn('rejected_completion_id', { nullable: true })
  rejectedCompletionId!: string | null;

  @ManyToOne(() => CompletionEntity, { onDelete: 'SET NULL', nullable: true })
  @JoinColumn({ name: 'rejected_completion_id', foreignKeyConstraintName: 'fk_pairs_rejected_completion' })
  rejectedCompletion?: Relation<CompletionEntity> | null;

  @TextColumn('chosen_text')
  chosenText!: string;

  @TextColumn('rejected_text')
  rejectedText!: string;

  /** strength of the preference in the source's own units (rating difference, 1 for binary sources) */
  @FloatColumn('margin')
  margin!: number;

  @VarcharColumn('source', 16)
  source!: PreferenceSource;

  /** ids of the feedback events that support this direction */
  @JsonColumn('event_ids')
  eventIds!: string[];

  /** number of events that labelled the same two responses the other way round */
  @IntColumn('conflict_count', { default: 0 })
  conflictCount!: number;

  /** ids of the conflicting events, kept so a reviewer can audit them */
  @JsonColumn('conflicting_event_ids')
  conflictingEventIds!: string[];

  /** model versions that produced the chosen and rejected responses (null for edits) */
  @IdColumn('chosen_model_version', { nullable: true })
  chosenModelVersion!: string | null;

  @IdColumn('rejected_model_version', { nullable: true })
  rejectedModelVersion!: string | null;

  /** latest feedback time among supporting events: what the snapshot time window filters on */
  @TimestampColumn('created_at')
  createdAt!: Date;
}
