// The `jobs` table (src/platform/persistence/entities/job.entity.ts): durable
// training and evaluation jobs. TypeORM's schema API, so it runs on SQLite and
// PostgreSQL alike.
import { Table, TableIndex, type MigrationInterface, type QueryRunner, type TableColumnOptions } from 'typeorm';

function dialect(queryRunner: QueryRunner): { timestamp: string; falseLiteral: string } {
  const type = queryRunner.connection.driver.options.type;
  if (type === 'postgres') return { timestamp: 'timestamptz', falseLiteral: 'false' };
  if (type === 'better-sqlite3') return { timestamp: 'datetime', falseLiteral: '0' };
  throw new Error(`Jobs: unsupported database type "${type}" (supported: better-sqlite3, postgres)`);
}

export class Jobs1764381600000 implements MigrationInterface {
  name = 'Jobs1764381600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const d = dialect(queryRunner);
    const id = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: '200', isNullable: nullable });
    const time = (name: string, nullable = false): TableColumnOptions => ({ name, type: d.timestamp, isNullable: nullable });
    const text = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable });
    await queryRunner.createTable(
      new Table({
        name: 'jobs',
        columns: [
          { ...id('id'), isPrimary: true },
          { name: 'kind', type: 'varchar', length: '40', isNullable: false },
          text('params'), // simple-json
          id('idempotency_key', true),
          { name: 'state', type: 'varchar', length: '16', isNullable: false },
          { name: 'attempts', type: 'integer', isNullable: false, default: '0' },
          { name: 'max_attempts', type: 'integer', isNullable: false },
          time('run_after'),
          id('lease_owner', true),
          time('heartbeat_at', true),
          time('lease_expires_at', true),
          text('progress', true),
          text('result', true),
          text('error', true),
          { name: 'cancel_requested', type: 'boolean', isNullable: false, default: d.falseLiteral },
          time('created_at'),
          time('updated_at'),
          time('started_at', true),
          time('finished_at', true),
        ],
        indices: [
          new TableIndex({ name: 'uq_jobs_idempotency_key', columnNames: ['idempotency_key'], isUnique: true }),
          new TableIndex({ name: 'idx_jobs_state_run_after', columnNames: ['state', 'run_after'] }),
          new TableIndex({ name: 'idx_jobs_state_lease', columnNames: ['state', 'lease_expires_at'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('jobs');
  }
}
