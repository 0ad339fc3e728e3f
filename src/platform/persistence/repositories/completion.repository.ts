// Served completions (the `completions` table), written by the ingest consumer.
import { In, MoreThanOrEqual, type EntityManager } from 'typeorm';
import type { CompletionRecord } from '../../../domain/completions.js';
import type { CompletionRow } from '../../../domain/dataset/dataset.types.js';
import { CompletionEntity } from '../entities/completion.entity.js';
import { BatchInsertingRepository } from './batch-insert.js';
import { chunks, IDS_PER_LOOKUP } from './typeorm-scope.js';

export interface CompletionOwnership {
  apiKeyId: string | null;
  comparisonId: string | null;
  messages: CompletionRecord['messages'];
}

export interface ICompletionRepository {
  /** Insert rows whose id is new; returns how many were written (the rest were already there). */
  insertIgnoringDuplicates(rows: readonly CompletionRecord[]): Promise<number>;
  /** Which of these ids are persisted. */
  existingIds(ids: readonly string[]): Promise<Set<string>>;
  /**
   * Per persisted completion: the API key that owns it (null: sent without a key), and
   * what a pairwise preference about it must match — its comparison and its prompt.
   */
  owners(ids: readonly string[]): Promise<Map<string, CompletionOwnership>>;
  /** What dataset building needs of each persisted completion. */
  findForDataset(ids: readonly string[]): Promise<Map<string, CompletionRow>>;
  /** Answers these versions served to users (not shadow) since `since`: the canary's guard metrics. */
  servedSince(modelVersions: readonly string[], since: Date): Promise<ServedCompletion[]>;
  /**
   * The prompt users sent to each logged completion created before `before` — the text
   * of its last user message (shadow answers, a second answer to a prompt already
   * logged, are skipped; so is a completion with no user message) — oldest first, read
   * `pageSize` rows at a time: the RL prompt set's source (src/services/rl-prompt-set.ts).
   */
  userPromptsBefore(before: Date, pageSize?: number): AsyncIterable<string>;
}

export type ServedCompletion = Pick<CompletionRecord, 'modelVersion' | 'response' | 'finishReason' | 'latencyMs'>;

export class TypeOrmCompletionRepository extends BatchInsertingRepository<CompletionEntity> implements ICompletionRepository {
  constructor(manager: EntityManager) {
    super(manager, CompletionEntity);
  }

  async existingIds(ids: readonly string[]): Promise<Set<string>> {
    return new Set((await this.findByIds(ids, { id: true })).map((r) => r.id));
  }

  async owners(ids: readonly string[]): Promise<Map<string, CompletionOwnership>> {
    const rows = await this.findByIds(ids, { id: true, apiKeyId: true, comparisonId: true, messages: true });
    return new Map(rows.map((r) => [r.id, { apiKeyId: r.apiKeyId, comparisonId: r.comparisonId, messages: r.messages }]));
  }

  async findForDataset(ids: readonly string[]): Promise<Map<string, CompletionRow>> {
    const rows = await this.findByIds(ids, { id: true, messages: true, response: true, modelVersion: true, createdAt: true });
    return new Map(rows.map((r) => [r.id, r]));
  }

  async servedSince(modelVersions: readonly string[], since: Date): Promise<ServedCompletion[]> {
    if (modelVersions.length === 0) return [];
    return this.manager.getRepository(CompletionEntity).find({
      select: { modelVersion: true, response: true, finishReason: true, latencyMs: true },
      where: { modelVersion: In([...modelVersions]), shadow: false, createdAt: MoreThanOrEqual(since) },
    });
  }

  async *userPromptsBefore(before: Date, pageSize = 1000): AsyncIterable<string> {
    if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize: expected a positive integer, got ${pageSize}`);
    const repo = this.manager.getRepository(CompletionEntity);
    // keyset pagination on (created_at, id): rows ingested while this reads are either
    // before the cursor (already read) or after it (read next), never read twice
    let cursor: { createdAt: Date; id: string } | null = null;
    for (;;) {
      const qb = repo
        .createQueryBuilder('c')
        .select(['c.id', 'c.messages', 'c.createdAt'])
        .where('c.shadow = :shadow', { shadow: false })
        .andWhere('c.created_at < :before', { before })
        .orderBy('c.created_at', 'ASC')
        .addOrderBy('c.id', 'ASC')
        .take(pageSize);
      if (cursor) qb.andWhere('(c.created_at > :at OR (c.created_at = :at AND c.id > :id))', { at: cursor.createdAt, id: cursor.id });
      const rows = await qb.getMany();
      for (const row of rows) {
        const lastUser = row.messages.findLast((m) => m.role === 'user');
        if (lastUser) yield lastUser.content;
      }
      if (rows.length < pageSize) return;
      const last = rows[rows.length - 1]!;
      cursor = { createdAt: last.createdAt, id: last.id };
    }
  }

  private async findByIds(ids: readonly string[], select: Partial<Record<keyof CompletionEntity, true>>): Promise<CompletionEntity[]> {
    const repo = this.manager.getRepository(CompletionEntity);
    const out: CompletionEntity[] = [];
    for (const part of chunks([...new Set(ids)], IDS_PER_LOOKUP)) out.push(...(await repo.find({ select, where: { id: In(part) } })));
    return out;
  }
}
