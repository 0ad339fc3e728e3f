// The evaluator's records (docs/evaluation.md, "The evaluator role"):
// - evaluations: one evaluation is a row per (suite, side) sharing evaluation_id; the
//   side (candidate | incumbent), the model compared with, details (label counts,
//   sampling configuration, timings) and where the report is in the artifact store.
// - gate_decisions: the policy that decided, the evaluation judged, the metrics that
//   made the verdict needs_review, the checkpoint chosen by eval and the inputs the
//   rules read (a new policy is replayed over them by `outerloop gate --dry-run`).
//   The verdict column (varchar 16) already holds 'needs_review'.
// Every new column is nullable, so rows written before stay valid. Written with
// TypeORM's schema API: it runs on SQLite (embedded) and PostgreSQL (distributed).
import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

const ID_LENGTH = '200';

const nullable = (name: string, type: 'varchar' | 'text', length?: string): TableColumn =>
  new TableColumn({ name, type, ...(length ? { length } : {}), isNullable: true });

const EVALUATION_COLUMNS = [
  nullable('evaluation_id', 'varchar', ID_LENGTH),
  nullable('side', 'varchar', '16'),
  nullable('compared_with_model_id', 'varchar', ID_LENGTH),
  nullable('details', 'text'),
  nullable('report_path', 'varchar', '500'),
];

const GATE_DECISION_COLUMNS = [
  nullable('evaluation_id', 'varchar', ID_LENGTH),
  nullable('policy_name', 'varchar', '100'),
  nullable('missing', 'text'),
  nullable('chosen_checkpoint', 'text'),
  nullable('inputs', 'text'),
];

function assertSupported(queryRunner: QueryRunner): void {
  const type = queryRunner.connection.driver.options.type;
  if (type !== 'postgres' && type !== 'better-sqlite3') throw new Error(`GateDecisionEvidence: unsupported database type "${type}" (supported: better-sqlite3, postgres)`);
}

export class GateDecisionEvidence1764400000000 implements MigrationInterface {
  name = 'GateDecisionEvidence1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    assertSupported(queryRunner);
    await queryRunner.addColumns('evaluations', EVALUATION_COLUMNS);
    await queryRunner.createIndex('evaluations', new TableIndex({ name: 'idx_evaluations_evaluation', columnNames: ['evaluation_id'] }));
    await queryRunner.addColumns('gate_decisions', GATE_DECISION_COLUMNS);
    await queryRunner.createIndex('gate_decisions', new TableIndex({ name: 'idx_gate_evaluation', columnNames: ['evaluation_id'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    assertSupported(queryRunner);
    await queryRunner.dropIndex('gate_decisions', 'idx_gate_evaluation');
    await queryRunner.dropColumns('gate_decisions', GATE_DECISION_COLUMNS.map((c) => c.name));
    await queryRunner.dropIndex('evaluations', 'idx_evaluations_evaluation');
    await queryRunner.dropColumns('evaluations', EVALUATION_COLUMNS.map((c) => c.name));
  }
}
