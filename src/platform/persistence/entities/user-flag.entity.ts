import { Entity, Index } from 'typeorm';
import type { UserFlagRow } from '../../../domain/dataset/dataset.types.js';
import { IdPrimaryColumn, JsonColumn, TimestampColumn, VarcharColumn, type JsonObject } from './columns.js';

/** A labeller flagged by the spam defence (e.g. disagrees with the majority far
 *  beyond chance); flagged users' labels are excluded from snapshots. */
@Entity({ name: 'user_flags' })
@Index('idx_user_flags_reason', ['reason'])
export class UserFlagEntity implements UserFlagRow {
  /** the labeller: `user:<user id>`, or `key:<api key id>` for feedback sent without
   *  a user id (see labellerOf in domain/dataset) */
  @IdPrimaryColumn('user_id')
  userId!: string;

  @VarcharColumn('reason', 64)
  reason!: string;

  /** the evidence: label counts, disagreements, p-value */
  @JsonColumn('detail')
  detail!: JsonObject;

  @TimestampColumn('flagged_at')
  flaggedAt!: Date;
}
