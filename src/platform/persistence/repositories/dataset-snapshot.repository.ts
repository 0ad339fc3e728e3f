// Dataset snapshot rows (the `dataset_snapshots` table). A snapshot is immutable and
// content-addressed: a row is inserted once and never changed.
import type { DatasetSnapshotRecord } from '../../../domain/dataset/dataset.types.js';
import { DatasetSnapshotEntity } from '../entities/dataset-snapshot.entity.js';
import { TypeOrmScope } from './typeorm-scope.js';

export interface IDatasetSnapshotRepository {
  findById(id: string): Promise<DatasetSnapshotRecord | null>;
  /** Newest first. */
  list(limit: number): Promise<DatasetSnapshotRecord[]>;
  /** Insert unless a row with this id exists (a concurrent creator of the same snapshot wrote the same row). */
  insertIfAbsent(row: DatasetSnapshotRecord): Promise<void>;
}

export class TypeOrmDatasetSnapshotRepository extends TypeOrmScope implements IDatasetSnapshotRepository {
  findById(id: string): Promise<DatasetSnapshotRecord | null> {
    return this.manager.getRepository(DatasetSnapshotEntity).findOneBy({ id });
  }

  list(limit: number): Promise<DatasetSnapshotRecord[]> {
    return this.manager.getRepository(DatasetSnapshotEntity).find({ order: { createdAt: 'DESC', id: 'ASC' }, take: limit });
  }

  async insertIfAbsent(row: DatasetSnapshotRecord): Promise<void> {
    await this.write((m) => m.createQueryBuilder().insert().into(DatasetSnapshotEntity).values(row).orIgnore().execute());
  }
}
