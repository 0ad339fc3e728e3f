// Tables of the embedded event bus (src/platform/messaging/embedded/bus.entities.ts),
// with TypeORM's schema API so one migration runs on SQLite and PostgreSQL.
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

function dialect(queryRunner: QueryRunner): { timestamp: string; now: string } {
  const type = queryRunner.connection.driver.options.type;
  if (type === 'postgres') return { timestamp: 'timestamptz', now: 'now()' };
  if (type === 'better-sqlite3') return { timestamp: 'datetime', now: "datetime('now')" };
  throw new Error(`EmbeddedEventBus: unsupported database type "${type}" (supported: better-sqlite3, postgres)`);
}

export class EmbeddedEventBus1764201000000 implements MigrationInterface {
  name = 'EmbeddedEventBus1764201000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const d = dialect(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'bus_events',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'topic', type: 'varchar', length: '300', isNullable: false },
          { name: 'key', type: 'varchar', length: '300', isNullable: true },
          { name: 'value', type: 'text', isNullable: false },
          { name: 'created_at', type: d.timestamp, isNullable: false, default: d.now },
        ],
        indices: [new TableIndex({ name: 'idx_bus_events_topic_id', columnNames: ['topic', 'id'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'bus_offsets',
        columns: [
          { name: 'group_id', type: 'varchar', length: '300', isPrimary: true },
          { name: 'topic', type: 'varchar', length: '300', isPrimary: true },
          { name: 'committed_id', type: 'integer', isNullable: false },
          { name: 'updated_at', type: d.timestamp, isNullable: false },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('bus_offsets');
    await queryRunner.dropTable('bus_events');
  }
}
