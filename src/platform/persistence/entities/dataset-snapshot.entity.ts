import { Entity, Index } from 'typeorm';
import type { DatasetSnapshotRecord, SnapshotEventRange } from '../../../domain/dataset/dataset.types.js';
import { IdPrimaryColumn, JsonColumn, TimestampColumn, VarcharColumn, type JsonObject } from './columns.js';

/** An immutable, content-addressed dataset snapshot (ARCHITECTURE §4): id = sha256 of
 *  the manifest's content; the JSONL files live in the artifact store. */
@Entity({ name: 'dataset_snapshots' })
@Index('idx_snapshots_created', ['createdAt'])
export class DatasetSnapshotEntity implements DatasetSnapshotRecord {
  @IdPrimaryColumn()
  id!: string;

  @JsonColumn('filters')
  filters!: JsonObject;

  @JsonColumn('counts')
  counts!: JsonObject;

  @JsonColumn('source_event_range')
  sourceEventRange!: SnapshotEventRange;

  @VarcharColumn('artifact_path', 500)
  artifactPath!: string;

  /** sha256 of manifest.json as written */
  @VarcharColumn('sha256', 64)
  sha256!: string;

  @JsonColumn('statistics', { nullable: true })
  statistics!: JsonObject | null;

  @TimestampColumn('created_at')
  createdAt!: Date;
}
