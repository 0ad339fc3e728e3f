// Idempotent batch writes for the ingest consumers. Each consumer batch becomes a
// few multi-row `INSERT … ON CONFLICT DO NOTHING` statements (SQLite: `INSERT OR
// IGNORE`) in one transaction: one round trip and one commit per ~1,000 events
// instead of one per event, and a redelivered event (at-least-once bus) is a no-op
// because the primary key is the event id.
import type { DataSource, EntityManager, ObjectLiteral, QueryResult } from 'typeorm';
import { serializeOnSqlite } from '../sqlite-serializer.js';
import { chunks, TypeOrmScope } from './typeorm-scope.js';

/**
 * Rows per INSERT statement. Bound parameters per statement are capped (Postgres
 * 65,535; SQLite 32,766): completions have 17 columns, feedback 12, so 1,000 rows
 * stays under both with room to spare, and larger statements gain nothing measurable.
 */
const ROWS_PER_STATEMENT = 1000;
/**
 * Postgres gets one array parameter per column (`INSERT … SELECT * FROM unnest($1, …)`),
 * so the statement size does not grow with the rows. Measured on the 2-core test
 * machine: TypeORM's multi-row VALUES builder spends ~0.25 ms of JavaScript per row
 * (2,000 rows ≈ 500 ms), which capped the drain rate near 4,000 events/s.
 */
const POSTGRES_ROWS_PER_STATEMENT = 5000;

const asIs = (v: unknown) => (v === undefined ? null : v);

/** The Postgres array type and value encoding for a TypeORM column type. */
function postgresArrayColumn(type: unknown, where: string): { arrayType: string; encode: (v: unknown) => unknown } {
  if (type === Date) return { arrayType: 'timestamptz[]', encode: (v) => (v instanceof Date ? v.toISOString() : asIs(v)) };
  switch (type) {
    case 'varchar':
    case 'text':
      return { arrayType: 'text[]', encode: asIs };
    case 'simple-json':
      return { arrayType: 'text[]', encode: (v) => (v === null || v === undefined ? null : JSON.stringify(v)) };
    case 'double precision':
      return { arrayType: 'float8[]', encode: asIs };
    case 'integer':
      return { arrayType: 'int4[]', encode: asIs };
    case 'boolean':
      return { arrayType: 'bool[]', encode: asIs };
    default:
      throw new Error(`batch insert: no Postgres array mapping for column ${where} of type ${String(type)}`);
  }
}

interface UnnestStatement {
  sql: string;
  columns: Array<{ property: string; encode: (v: unknown) => unknown }>;
}

/** `INSERT … ON CONFLICT DO NOTHING` of many rows of one entity; returns how many were new. */
export class BatchInserter<Row extends ObjectLiteral> {
  private unnest: UnnestStatement | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly target: new () => Row,
  ) {}

  /**
   * `INSERT INTO t (c1, …) SELECT * FROM unnest($1::type[], …) ON CONFLICT DO NOTHING`,
   * built once from the entity's TypeORM metadata so it follows the entity's columns.
   */
  private unnestInsert(rows: readonly Row[]): [string, unknown[]] {
    if (!this.unnest) {
      const meta = this.dataSource.getMetadata(this.target);
      const seen = new Set<string>();
      const columns: Array<{ name: string; property: string; arrayType: string; encode: (v: unknown) => unknown }> = [];
      for (const c of meta.columns) {
        if (seen.has(c.databaseName)) continue;
        seen.add(c.databaseName);
        columns.push({ name: c.databaseName, property: c.propertyName, ...postgresArrayColumn(c.type, `${meta.tableName}.${c.databaseName}`) });
      }
      const sql =
        `INSERT INTO "${meta.tableName}" (${columns.map((c) => `"${c.name}"`).join(', ')}) ` +
        `SELECT * FROM unnest(${columns.map((c, i) => `$${i + 1}::${c.arrayType}`).join(', ')}) ON CONFLICT DO NOTHING`;
      this.unnest = { sql, columns };
    }
    const { sql, columns } = this.unnest;
    return [sql, columns.map((c) => rows.map((r) => c.encode((r as Record<string, unknown>)[c.property])))];
  }

  insertIgnoringDuplicates(rows: readonly Row[]): Promise<number> {
    if (rows.length === 0) return Promise.resolve(0);
    // Embedded mode: SQLite's one shared connection must not run this batch's
    // statements interleaved with another consumer's transaction (a statement issued
    // inside someone else's BEGIN…ROLLBACK would be rolled back with it after its own
    // offset was committed). See sqlite-serializer.ts.
    return serializeOnSqlite(this.dataSource, () => this.insertNow(rows));
  }

  private async insertNow(rows: readonly Row[]): Promise<number> {
    // Run the builder's SQL on a query runner directly: its structured result carries
    // the affected-row count (Postgres rowCount, SQLite changes), which for an
    // ON CONFLICT DO NOTHING / INSERT OR IGNORE insert is the number of rows
    // actually written — how duplicates are counted without a second query.
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    const postgres = this.dataSource.options.type === 'postgres';
    const parts = chunks(rows, postgres ? POSTGRES_ROWS_PER_STATEMENT : ROWS_PER_STATEMENT);
    // One transaction when the batch needs several statements: one commit (fsync)
    // per consumer batch, and no half-written batch to reason about.
    const transactional = parts.length > 1;
    try {
      if (transactional) await runner.startTransaction();
      let inserted = 0;
      for (const part of parts) {
        const [sql, params] = postgres
          ? this.unnestInsert(part)
          : runner.manager.createQueryBuilder().insert().into(this.target).values(part).orIgnore().updateEntity(false).getQueryAndParameters();
        const result: QueryResult = await runner.query(sql, params, true);
        inserted += result.affected ?? 0;
      }
      if (transactional) await runner.commitTransaction();
      return inserted;
    } catch (err) {
      if (transactional && runner.isTransactionActive) await runner.rollbackTransaction();
      throw err;
    } finally {
      await runner.release();
    }
  }
}

/** A repository whose table the ingest consumers fill in batches. */
export abstract class BatchInsertingRepository<Row extends ObjectLiteral> extends TypeOrmScope {
  private readonly inserter: BatchInserter<Row>;

  constructor(manager: EntityManager, target: new () => Row) {
    super(manager);
    this.inserter = new BatchInserter(manager.connection, target);
  }

  /** Insert rows whose id is new; returns how many were written. */
  insertIgnoringDuplicates(rows: readonly Row[]): Promise<number> {
    return this.inserter.insertIgnoringDuplicates(rows);
  }
}
