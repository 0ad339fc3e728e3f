// The orchestrator's state machine (docs/orchestrator.md): loop_iterations states are
// renamed to the step names (snapshot → train_rm → rm_gate → rl → evaluate → gate →
// canary → promoted | rolled_back | rejected, plus failed and paused), each iteration
// records its trigger, every step's inputs and outputs, the state a pause interrupted
// and a revision for compare-and-set writes; `loop_leases` holds the lease that lets
// one orchestrator run the loop at a time (and the loop's paused switch). TypeORM's
// schema API and portable SQL, so it runs on SQLite and PostgreSQL alike.
import { Table, TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/** old stored value → new (states whose name did not change are absent) */
const RENAMED_STATES: ReadonlyArray<readonly [string, string]> = [
  ['snapshotting', 'snapshot'],
  ['training-reward', 'train_rm'],
  ['training-policy', 'rl'],
  ['evaluating', 'evaluate'],
  ['gating', 'gate'],
  ['rolled-back', 'rolled_back'],
];

function timestampType(queryRunner: QueryRunner): string {
  const type = queryRunner.connection.driver.options.type;
  if (type === 'postgres') return 'timestamptz';
  if (type === 'better-sqlite3') return 'datetime';
  throw new Error(`LoopStateMachine: unsupported database type "${type}" (supported: better-sqlite3, postgres)`);
}

/** (new state, old state) parameters; PostgreSQL numbers its placeholders */
function renameSql(queryRunner: QueryRunner): string {
  return queryRunner.connection.driver.options.type === 'postgres'
    ? 'UPDATE loop_iterations SET state = $1 WHERE state = $2'
    : 'UPDATE loop_iterations SET state = ? WHERE state = ?';
}

export class LoopStateMachine1764500000000 implements MigrationInterface {
  name = 'LoopStateMachine1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const timestamp = timestampType(queryRunner);
    for (const [from, to] of RENAMED_STATES) await queryRunner.query(renameSql(queryRunner), [to, from]);
    await queryRunner.addColumns('loop_iterations', [
      new TableColumn({ name: 'trigger', type: 'varchar', length: '16', isNullable: false, default: "'manual'" }),
      new TableColumn({ name: 'steps', type: 'text', isNullable: false, default: "'{}'" }), // simple-json
      new TableColumn({ name: 'paused_from', type: 'varchar', length: '40', isNullable: true }),
      new TableColumn({ name: 'revision', type: 'integer', isNullable: false, default: '0' }),
    ]);
    await queryRunner.createTable(
      new Table({
        name: 'loop_leases',
        columns: [
          { name: 'name', type: 'varchar', length: '100', isPrimary: true },
          { name: 'owner', type: 'varchar', length: '200', isNullable: true },
          { name: 'expires_at', type: timestamp, isNullable: true },
          { name: 'fence', type: 'integer', isNullable: false, default: '0' },
          { name: 'paused', type: 'boolean', isNullable: false, default: queryRunner.connection.driver.options.type === 'postgres' ? 'false' : '0' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('loop_leases');
    for (const column of ['revision', 'paused_from', 'steps', 'trigger']) await queryRunner.dropColumn('loop_iterations', column);
    for (const [from, to] of RENAMED_STATES) await queryRunner.query(renameSql(queryRunner), [from, to]);
  }
}
