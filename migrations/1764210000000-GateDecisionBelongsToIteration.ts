// loop_iterations.gate_decision_id and gate_decisions.loop_iteration_id pointed at
// each other: two foreign keys for one relation, which could disagree (an iteration
// naming a decision that belongs to another iteration) and forced the initial
// migration to create, and revert, both tables around the cycle.
//
// The direction kept is gate_decisions.loop_iteration_id: a gate decision belongs to
// the iteration that asked for it (ON DELETE CASCADE goes with the iteration), an
// iteration may be gated more than once (a retried gate step writes a new decision,
// and the record of every rule's verdict must survive), and the decision is written
// after the iteration exists — so the reference is set once, at insert, never
// patched in later. An iteration finds its decisions through idx_gate_iteration;
// the newest one is in force.
//
// Data: before the column goes, a decision that only the iteration pointed at is
// attached to that iteration, so no link is lost. Written with TypeORM's schema API
// and portable SQL, so it runs on SQLite (embedded) and PostgreSQL (distributed).
import { TableColumn, TableForeignKey, type MigrationInterface, type QueryRunner } from 'typeorm';

const ID_LENGTH = '200';

function assertSupported(queryRunner: QueryRunner): 'postgres' | 'better-sqlite3' {
  const type = queryRunner.connection.driver.options.type;
  if (type === 'postgres' || type === 'better-sqlite3') return type;
  throw new Error(`GateDecisionBelongsToIteration: unsupported database type "${type}" (supported: better-sqlite3, postgres)`);
}

export class GateDecisionBelongsToIteration1764210000000 implements MigrationInterface {
  name = 'GateDecisionBelongsToIteration1764210000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const type = assertSupported(queryRunner);
    await queryRunner.query(
      `UPDATE gate_decisions SET loop_iteration_id = (SELECT MIN(l.id) FROM loop_iterations l WHERE l.gate_decision_id = gate_decisions.id)
       WHERE loop_iteration_id IS NULL AND EXISTS (SELECT 1 FROM loop_iterations l WHERE l.gate_decision_id = gate_decisions.id)`,
    );
    // PostgreSQL drops the constraint by name; SQLite cannot drop a constraint in
    // place, and its dropColumn rebuilds the table without the column and its key.
    if (type === 'postgres') await queryRunner.dropForeignKey('loop_iterations', 'fk_loop_gate_decision');
    await queryRunner.dropColumn('loop_iterations', 'gate_decision_id');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    assertSupported(queryRunner);
    await queryRunner.addColumn('loop_iterations', new TableColumn({ name: 'gate_decision_id', type: 'varchar', length: ID_LENGTH, isNullable: true }));
    await queryRunner.createForeignKey(
      'loop_iterations',
      new TableForeignKey({ name: 'fk_loop_gate_decision', columnNames: ['gate_decision_id'], referencedTableName: 'gate_decisions', referencedColumnNames: ['id'], onDelete: 'SET NULL' }),
    );
    // the old column named one decision: the newest of the iteration's
    await queryRunner.query(
      `UPDATE loop_iterations SET gate_decision_id = (SELECT g.id FROM gate_decisions g WHERE g.loop_iteration_id = loop_iterations.id ORDER BY g.created_at DESC, g.id DESC LIMIT 1)`,
    );
  }
}
