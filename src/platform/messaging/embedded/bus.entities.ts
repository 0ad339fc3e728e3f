// Tables of the embedded event bus: an append-only log whose autoincrement id is the
// offset (one partition per topic, so the order of ids is the order of the log), and
// the committed offset of each consumer group. Created by
// migrations/1764201000000-EmbeddedEventBus.ts; the persistence schema test checks
// that these entities and that migration agree.
import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/** One event. `id` is the offset: strictly increasing in commit order per writer. */
@Entity({ name: 'bus_events' })
@Index('idx_bus_events_topic_id', ['topic', 'id'])
export class BusEventEntity {
  // 'integer': SQLite allows AUTOINCREMENT only on exactly INTEGER (which is 64-bit
  // there). On Postgres this is int4 — 2^31 events, ample for the embedded bus, which
  // Postgres only hosts in tests; the distributed mode's log is Kafka.
  @PrimaryGeneratedColumn('increment', { name: 'id', type: 'integer' })
  id!: string | number;

  @Column({ name: 'topic', type: 'varchar', length: 300 })
  topic!: string;

  @Column({ name: 'key', type: 'varchar', length: 300, nullable: true })
  key!: string | null;

  /** the bytes as produced (JSON for valid events; anything for publishRaw) */
  @Column({ name: 'value', type: 'text' })
  value!: string;

  @CreateDateColumn({ name: 'created_at', type: Date })
  createdAt!: Date;
}

/** The next offset a consumer group reads from a topic: every id below it is handled. */
@Entity({ name: 'bus_offsets' })
export class BusOffsetEntity {
  @PrimaryColumn({ name: 'group_id', type: 'varchar', length: 300 })
  groupId!: string;

  @PrimaryColumn({ name: 'topic', type: 'varchar', length: 300 })
  topic!: string;

  /** id of the last event handled (committed); 0 = nothing yet */
  @Column({ name: 'committed_id', type: 'integer' })
  committedId!: string | number;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const BUS_ENTITIES: Function[] = [BusEventEntity, BusOffsetEntity];
