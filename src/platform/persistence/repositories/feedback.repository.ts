// Feedback events (the `feedback_events` table), written by the ingest consumer and
// read back whole by dataset building.
import type { EntityManager } from 'typeorm';
import type { FeedbackRow } from '../../../domain/dataset/dataset.types.js';
import type { FeedbackRecord, FeedbackType } from '../../../domain/feedback.js';
import { CompletionEntity } from '../entities/completion.entity.js';
import { FeedbackEventEntity } from '../entities/feedback-event.entity.js';
import { BatchInsertingRepository } from './batch-insert.js';

/** A feedback event with the model version that served its completion. */
export interface FeedbackWithModelVersion {
  id: string;
  type: FeedbackType;
  value: number | null;
  userId: string | null;
  apiKeyId: string | null;
  modelVersion: string;
}

export interface IFeedbackRepository {
  /** Insert rows whose id is new; returns how many were written. A row whose
   *  completion is not persisted fails the foreign key (the whole call fails). */
  insertIgnoringDuplicates(rows: readonly FeedbackRecord[]): Promise<number>;
  /** Every event, in the shape pair derivation reads. */
  findAllForDerivation(): Promise<FeedbackRow[]>;
  /** Events created in [from, to) (either bound null: open), with their completion's model version. */
  findInWindow(from: Date | null, to: Date | null): Promise<FeedbackWithModelVersion[]>;
}

export class TypeOrmFeedbackRepository extends BatchInsertingRepository<FeedbackEventEntity> implements IFeedbackRepository {
  constructor(manager: EntityManager) {
    super(manager, FeedbackEventEntity);
  }

  findAllForDerivation(): Promise<FeedbackRow[]> {
    return this.manager.getRepository(FeedbackEventEntity).find({
      select: { id: true, completionId: true, type: true, value: true, otherCompletionId: true, editedResponse: true, userId: true, apiKeyId: true, createdAt: true },
    });
  }

  async findInWindow(from: Date | null, to: Date | null): Promise<FeedbackWithModelVersion[]> {
    const qb = this.manager
      .getRepository(FeedbackEventEntity)
      .createQueryBuilder('f')
      .innerJoin(CompletionEntity, 'c', 'c.id = f.completion_id')
      .select(['f.id AS id', 'f.type AS type', 'f.value AS value', 'f.user_id AS "userId"', 'f.api_key_id AS "apiKeyId"', 'c.model_version AS "modelVersion"']);
    if (from) qb.andWhere('f.created_at >= :from', { from });
    if (to) qb.andWhere('f.created_at < :to', { to });
    const rows: Array<Omit<FeedbackWithModelVersion, 'value'> & { value: number | string | null }> = await qb.getRawMany();
    // raw rows: a driver may hand a double back as a string
    return rows.map((r) => ({ ...r, value: r.value === null ? null : Number(r.value) }));
  }
}
