import { Entity, Index } from 'typeorm';
import { IdPrimaryColumn, JsonColumn, TimestampColumn, VarcharColumn, type JsonObject } from './columns.js';

export interface SnapshotEventRange {
  /** smallest and largest feedback event id (lexicographic) among the frozen pairs */
  minEventId: string | null;
  maxEventId: string | null;
  eventCount: number;
  /** earliest and latest pair time (ISO) */
  from: string | null;
  to: string | null;
}

/** An immutable, content-addressed dataset snapshot (ARCHITECTURE §4): id = sha256 of
 *  the manifest's content; the JSONL files live in the artifact store. */
@Entity({ name: 'dataset_snapshots' })
@Index('idx_snapshots_created', ['createdAt'])
export class DatasetSnapshotEntity {
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
