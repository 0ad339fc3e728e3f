import { Entity, Index } from 'typeorm';
import type { ChatMessage, CompletionRecord, FinishReason, SamplingRecord } from '../../../domain/completions.js';
import { BoolColumn, FloatColumn, IdColumn, IdPrimaryColumn, IntColumn, JsonColumn, TextColumn, TimestampColumn, VarcharColumn } from './columns.js';

/** One served completion, persisted from `outerloop.completions` (upsert by id). */
@Entity({ name: 'completions' })
@Index('idx_completions_conversation', ['conversationId'])
@Index('idx_completions_comparison', ['comparisonId'])
@Index('idx_completions_model_version_created', ['modelVersion', 'createdAt'])
@Index('idx_completions_created', ['createdAt'])
export class CompletionEntity implements CompletionRecord {
  @IdPrimaryColumn()
  id!: string;

  @IdColumn('conversation_id')
  conversationId!: string;

  @IdColumn('comparison_id', { nullable: true })
  comparisonId!: string | null;

  @JsonColumn('messages')
  messages!: ChatMessage[];

  @TextColumn('response')
  response!: string;

  /** Deliberately a plain indexed string, not an FK to model_versions: in distributed
   *  mode a completion can be ingested before the registry row of the version that
   *  served it is visible (different services, different commits), and a completion
   *  must never be dead-lettered for that. */
  @IdColumn('model_version')
  modelVersion!: string;

  @JsonColumn('sampling')
  sampling!: SamplingRecord;

  @IntColumn('prompt_tokens')
  promptTokens!: number;

  @IntColumn('completion_tokens')
  completionTokens!: number;

  @VarcharColumn('finish_reason', 16)
  finishReason!: FinishReason;

  @FloatColumn('ttft_ms')
  ttftMs!: number;

  @FloatColumn('latency_ms')
  latencyMs!: number;

  @IdColumn('user_id', { nullable: true })
  userId!: string | null;

  @IdColumn('api_key_id', { nullable: true })
  apiKeyId!: string | null;

  @BoolColumn('shadow', { default: false })
  shadow!: boolean;

  @TimestampColumn('created_at')
  createdAt!: Date;

  @TimestampColumn('ingested_at')
  ingestedAt!: Date;
}
