// The initial schema (ARCHITECTURE §4), written with TypeORM's schema API rather than
// raw SQL so one migration runs on SQLite (embedded) and PostgreSQL (distributed).
// It must stay in step with src/platform/persistence/entities; the persistence unit
// test checks that the entity metadata and the migrated schema agree.
import { Table, TableForeignKey, TableIndex, type MigrationInterface, type QueryRunner, type TableColumnOptions } from 'typeorm';

const ID = 200;

interface Dialect {
  timestamp: string;
  falseLiteral: string;
}

function dialectOf(queryRunner: QueryRunner): Dialect {
  const type = queryRunner.connection.driver.options.type;
  if (type === 'postgres') return { timestamp: 'timestamptz', falseLiteral: 'false' };
  if (type === 'better-sqlite3') return { timestamp: 'datetime', falseLiteral: '0' };
  throw new Error(`InitialSchema: unsupported database type "${type}" (supported: better-sqlite3, postgres)`);
}

function columns(d: Dialect) {
  return {
    pk: (name = 'id'): TableColumnOptions => ({ name, type: 'varchar', length: String(ID), isPrimary: true }),
    id: (name: string, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: String(ID), isNullable: nullable }),
    varchar: (name: string, length: number, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: String(length), isNullable: nullable }),
    text: (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable }),
    // simple-json is stored as text on both databases
    json: (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable }),
    int: (name: string, nullable = false, dflt?: number): TableColumnOptions => ({ name, type: 'integer', isNullable: nullable, ...(dflt === undefined ? {} : { default: String(dflt) }) }),
    float: (name: string, nullable = false, dflt?: number): TableColumnOptions => ({ name, type: 'double precision', isNullable: nullable, ...(dflt === undefined ? {} : { default: String(dflt) }) }),
    bool: (name: string): TableColumnOptions => ({ name, type: 'boolean', isNullable: false, default: d.falseLiteral }),
    time: (name: string, nullable = false): TableColumnOptions => ({ name, type: d.timestamp, isNullable: nullable }),
  };
}

function fk(column: string, table: string, onDelete: 'CASCADE' | 'SET NULL' | 'NO ACTION', name: string): TableForeignKey {
  return new TableForeignKey({ name, columnNames: [column], referencedTableName: table, referencedColumnNames: ['id'], onDelete });
}

function idx(name: string, columnNames: string[], isUnique = false): TableIndex {
  return new TableIndex({ name, columnNames, isUnique });
}

/** Creation order; reverted in the opposite order after every foreign key is dropped
 *  (model_versions ↔ training_runs and loop_iterations ↔ gate_decisions reference
 *  each other, so no table order alone can satisfy PostgreSQL). */
const TABLES = [
  'completions',
  'feedback_events',
  'preference_pairs',
  'dataset_snapshots',
  'model_versions',
  'training_runs',
  'checkpoints',
  'evaluations',
  'loop_iterations',
  'gate_decisions',
  'deployments',
  'api_keys',
  'user_flags',
] as const;

export class InitialSchema1764200000000 implements MigrationInterface {
  name = 'InitialSchema1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const d = dialectOf(queryRunner);
    const c = columns(d);

    const tables: Table[] = [
      new Table({
        name: 'completions',
        columns: [
          c.pk(), c.id('conversation_id'), c.id('comparison_id', true), c.json('messages'), c.text('response'),
          c.id('model_version'), c.json('sampling'), c.int('prompt_tokens'), c.int('completion_tokens'),
          c.varchar('finish_reason', 16), c.float('ttft_ms'), c.float('latency_ms'), c.id('user_id', true),
          c.id('api_key_id', true), c.bool('shadow'), c.time('created_at'), c.time('ingested_at'),
        ],
        indices: [
          idx('idx_completions_conversation', ['conversation_id']),
          idx('idx_completions_comparison', ['comparison_id']),
          idx('idx_completions_model_version_created', ['model_version', 'created_at']),
          idx('idx_completions_created', ['created_at']),
        ],
      }),
      new Table({
        name: 'feedback_events',
        columns: [
          c.pk(), c.id('completion_id'), c.varchar('type', 16), c.float('value', true), c.id('other_completion_id', true),
          c.text('edited_response', true), c.text('comment', true), c.id('user_id', true), c.id('api_key_id', true),
          c.time('created_at'), c.time('ingested_at'),
        ],
        indices: [
          idx('idx_feedback_completion', ['completion_id']),
          idx('idx_feedback_type_created', ['type', 'created_at']),
          idx('idx_feedback_user', ['user_id']),
          idx('idx_feedback_ingested', ['ingested_at']),
        ],
      }),
      new Table({
        name: 'preference_pairs',
        columns: [
          c.pk(), c.varchar('prompt_hash', 64), c.json('prompt_messages'), c.id('chosen_completion_id', true),
          c.id('rejected_completion_id', true), c.text('chosen_text'), c.text('rejected_text'), c.float('margin'),
          c.varchar('source', 16), c.json('event_ids'), c.int('conflict_count', false, 0), c.json('conflicting_event_ids'),
          c.id('chosen_model_version', true), c.id('rejected_model_version', true), c.time('created_at'),
        ],
        indices: [
          idx('idx_pairs_prompt_hash', ['prompt_hash']),
          idx('idx_pairs_source_created', ['source', 'created_at']),
          idx('idx_pairs_chosen_completion', ['chosen_completion_id']),
          idx('idx_pairs_rejected_completion', ['rejected_completion_id']),
        ],
      }),
      new Table({
        name: 'dataset_snapshots',
        columns: [
          c.pk(), c.json('filters'), c.json('counts'), c.json('source_event_range'), c.varchar('artifact_path', 500),
          c.varchar('sha256', 64), c.json('statistics', true), c.time('created_at'),
        ],
        indices: [idx('idx_snapshots_created', ['created_at'])],
      }),
      new Table({
        name: 'model_versions',
        columns: [
          c.pk(), c.varchar('kind', 16), c.id('parent_id', true), c.varchar('artifact_path', 500), c.varchar('sha256', 64),
          c.varchar('status', 16), c.id('training_run_id', true), c.id('dataset_snapshot_id', true), c.json('metrics'),
          c.time('created_at'),
        ],
        indices: [
          idx('idx_models_kind_status', ['kind', 'status']),
          idx('idx_models_parent', ['parent_id']),
          idx('idx_models_training_run', ['training_run_id']),
        ],
      }),
      new Table({
        name: 'training_runs',
        columns: [
          c.pk(), c.varchar('kind', 16), c.json('config'), c.id('base_model_id', true), c.id('dataset_snapshot_id', true),
          c.varchar('status', 16), c.int('seed'), c.time('started_at', true), c.time('finished_at', true), c.text('error', true),
          c.time('created_at'),
        ],
        indices: [
          idx('idx_runs_status', ['status']),
          idx('idx_runs_base_model', ['base_model_id']),
          idx('idx_runs_snapshot', ['dataset_snapshot_id']),
        ],
      }),
      new Table({
        name: 'checkpoints',
        columns: [c.pk(), c.id('run_id'), c.int('step'), c.json('metrics'), c.varchar('artifact_path', 500, true), c.time('created_at')],
        indices: [idx('idx_checkpoints_run_step', ['run_id', 'step'], true)],
      }),
      new Table({
        name: 'evaluations',
        columns: [c.pk(), c.id('model_version_id'), c.id('checkpoint_id', true), c.varchar('suite', 100), c.json('metrics'), c.time('created_at')],
        indices: [
          idx('idx_evaluations_model_suite', ['model_version_id', 'suite']),
          idx('idx_evaluations_checkpoint', ['checkpoint_id']),
        ],
      }),
      new Table({
        name: 'loop_iterations',
        columns: [
          c.pk(), c.varchar('state', 40), c.json('state_history'), c.id('snapshot_id', true), c.id('reward_model_id', true),
          c.id('candidate_model_id', true), c.id('gate_decision_id', true), c.text('error', true), c.int('attempt', false, 0),
          c.time('updated_at'), c.time('created_at'),
        ],
        indices: [idx('idx_loop_state', ['state']), idx('idx_loop_created', ['created_at'])],
      }),
      new Table({
        name: 'gate_decisions',
        columns: [c.pk(), c.id('loop_iteration_id', true), c.id('candidate_model_id'), c.varchar('verdict', 16), c.json('rules'), c.time('created_at')],
        indices: [idx('idx_gate_iteration', ['loop_iteration_id']), idx('idx_gate_candidate', ['candidate_model_id'])],
      }),
      new Table({
        name: 'deployments',
        columns: [
          c.pk(), c.id('production_model_id'), c.id('canary_model_id', true), c.float('canary_weight', false, 0),
          c.id('shadow_model_id', true), c.text('reason'), c.time('created_at'),
        ],
        indices: [idx('idx_deployments_created', ['created_at'])],
      }),
      new Table({
        name: 'api_keys',
        columns: [
          c.pk(), c.varchar('name', 200), c.varchar('hashed_secret', 128), c.json('scopes'), c.int('rate_limit_per_minute', true),
          c.time('created_at'), c.time('revoked_at', true),
        ],
        indices: [idx('idx_api_keys_hash', ['hashed_secret'], true)],
      }),
      new Table({
        name: 'user_flags',
        columns: [c.pk('user_id'), c.varchar('reason', 64), c.json('detail'), c.time('flagged_at')],
        indices: [idx('idx_user_flags_reason', ['reason'])],
      }),
    ];
    for (const t of tables) await queryRunner.createTable(t, false, false, true);

    // Foreign keys after every table exists (two pairs of tables reference each other).
    // FK names are explicit so `down` and later migrations can address them.
    const foreignKeys: Record<string, TableForeignKey[]> = {
      feedback_events: [fk('completion_id', 'completions', 'CASCADE', 'fk_feedback_completion')],
      preference_pairs: [
        fk('chosen_completion_id', 'completions', 'SET NULL', 'fk_pairs_chosen_completion'),
        fk('rejected_completion_id', 'completions', 'SET NULL', 'fk_pairs_rejected_completion'),
      ],
      model_versions: [
        fk('parent_id', 'model_versions', 'NO ACTION', 'fk_models_parent'),
        fk('training_run_id', 'training_runs', 'SET NULL', 'fk_models_training_run'),
        fk('dataset_snapshot_id', 'dataset_snapshots', 'NO ACTION', 'fk_models_snapshot'),
      ],
      training_runs: [
        fk('base_model_id', 'model_versions', 'NO ACTION', 'fk_runs_base_model'),
        fk('dataset_snapshot_id', 'dataset_snapshots', 'NO ACTION', 'fk_runs_snapshot'),
      ],
      checkpoints: [fk('run_id', 'training_runs', 'CASCADE', 'fk_checkpoints_run')],
      evaluations: [
        fk('model_version_id', 'model_versions', 'CASCADE', 'fk_evaluations_model'),
        fk('checkpoint_id', 'checkpoints', 'SET NULL', 'fk_evaluations_checkpoint'),
      ],
      loop_iterations: [
        fk('snapshot_id', 'dataset_snapshots', 'NO ACTION', 'fk_loop_snapshot'),
        fk('reward_model_id', 'model_versions', 'NO ACTION', 'fk_loop_reward_model'),
        fk('candidate_model_id', 'model_versions', 'NO ACTION', 'fk_loop_candidate_model'),
        fk('gate_decision_id', 'gate_decisions', 'SET NULL', 'fk_loop_gate_decision'),
      ],
      gate_decisions: [
        fk('loop_iteration_id', 'loop_iterations', 'CASCADE', 'fk_gate_iteration'),
        fk('candidate_model_id', 'model_versions', 'CASCADE', 'fk_gate_candidate'),
      ],
      deployments: [
        fk('production_model_id', 'model_versions', 'NO ACTION', 'fk_deployments_production'),
        fk('canary_model_id', 'model_versions', 'NO ACTION', 'fk_deployments_canary'),
        fk('shadow_model_id', 'model_versions', 'NO ACTION', 'fk_deployments_shadow'),
      ],
    };
    for (const [table, keys] of Object.entries(foreignKeys)) await queryRunner.createForeignKeys(table, keys);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const type = queryRunner.connection.driver.options.type;
    if (type === 'better-sqlite3') {
      // SQLite cannot drop a constraint without copying the table, and the copy
      // trips the constraints of rows that still reference it. Deferring every FK
      // check to COMMIT (the pragma resets itself then) lets the tables go in any
      // order; by COMMIT no referencing row is left. This is why the schema uses
      // NO ACTION, never RESTRICT: SQLite applies RESTRICT immediately even when deferred.
      await queryRunner.query('PRAGMA defer_foreign_keys = ON');
    } else {
      dialectOf(queryRunner); // fail clearly on an unsupported database
      // PostgreSQL drops constraints in place; without them the mutually
      // referencing tables can be dropped in any order.
      for (const name of [...TABLES].reverse()) {
        const table = await queryRunner.getTable(name);
        if (table && table.foreignKeys.length) await queryRunner.dropForeignKeys(table, table.foreignKeys);
      }
    }
    for (const name of [...TABLES].reverse()) await queryRunner.dropTable(name, true, false, true);
  }
}
