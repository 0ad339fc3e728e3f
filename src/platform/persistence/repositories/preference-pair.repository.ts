// Derived preference pairs (the `preference_pairs` table). Pairs are derived data:
// the table is made to equal the latest derivation.
import { In } from 'typeorm';
import { canonicalJson } from '../../../domain/dataset/canonical.js';
import type { PreferencePairRow } from '../../../domain/dataset/dataset.types.js';
import { PreferencePairEntity } from '../entities/preference-pair.entity.js';
import { chunks, IDS_PER_LOOKUP, TypeOrmScope } from './typeorm-scope.js';

/** Rows per upsert: TypeORM's parameter bookkeeping grows faster than linearly with
 *  statement size, and 100 rows × 15 columns stays far under the parameter caps. */
const ROWS_PER_UPSERT = 100;

export interface IPreferencePairRepository {
  findAll(): Promise<PreferencePairRow[]>;
  /** Make the table equal `pairs` (same ids, same contents); returns how many stored pairs were removed. */
  replaceAll(pairs: readonly PreferencePairRow[]): Promise<number>;
}

export class TypeOrmPreferencePairRepository extends TypeOrmScope implements IPreferencePairRepository {
  findAll(): Promise<PreferencePairRow[]> {
    return this.manager.getRepository(PreferencePairEntity).find({
      select: {
        id: true, promptHash: true, promptMessages: true, chosenCompletionId: true, rejectedCompletionId: true, chosenText: true, rejectedText: true,
        margin: true, source: true, eventIds: true, conflictCount: true, conflictingEventIds: true, chosenModelVersion: true, rejectedModelVersion: true, createdAt: true,
      },
    });
  }

  /** Writes only rows that are new or changed (a refresh usually changes a few
   *  pairs out of many) and deletes the rest. Call it in a transaction. */
  replaceAll(pairs: readonly PreferencePairRow[]): Promise<number> {
    return this.write(async (m) => {
      const stored = new Map((await this.findAll()).map((p) => [p.id, canonicalJson({ ...p })]));
      const keep = new Set(pairs.map((p) => p.id));
      const stale = [...stored.keys()].filter((id) => !keep.has(id));
      for (const part of chunks(stale, IDS_PER_LOOKUP)) await m.getRepository(PreferencePairEntity).delete({ id: In(part) });
      const changed = pairs.filter((p) => stored.get(p.id) !== canonicalJson(p));
      const columns = m.connection.getMetadata(PreferencePairEntity).columns.map((c) => c.databaseName).filter((c) => c !== 'id');
      for (const part of chunks(changed, ROWS_PER_UPSERT)) {
        await m
          .createQueryBuilder()
          .insert()
          .into(PreferencePairEntity)
          .values(part)
          .orUpdate(columns, ['id'])
          // no read-back of generated/default columns: every column is written, and
          // the read-back is one OR per row, which overflows SQLite's expression depth
          .updateEntity(false)
          .execute();
      }
      return stale.length;
    });
  }
}
