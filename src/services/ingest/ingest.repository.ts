// Idempotent batch writes for the ingest consumers. Each consumer batch becomes a
// few multi-row `INSERT … ON CONFLICT DO NOTHING` statements (SQLite: `INSERT OR
// IGNORE`) in one transaction: one round trip and one commit per ~1,000 events
// instead of one per event, and a redelivered event (at-least-once bus) is a no-op
// because the primary key is the event id.
import { In, type DataSource, type QueryResult } from 'typeorm';
import { CompletionEntity, FeedbackEventEntity } from '../../platform/persistence/entities/index.js';
import type { CompletionEvent, FeedbackEvent } from '../../platform/messaging/events.js';
import { serializeOnSqlite } from '../../platform/persistence/sqlite-serializer.js';

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
/** ids per `IN (…)` lookup, same parameter bound */
const IDS_PER_LOOKUP = 5000;

export interface InsertCounts {
  /** rows newly written */
  inserted: number;
  /** events not written because their id was already present (redelivery, client replay, repeats in the batch) */
  duplicates: number;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Keep the first occurrence of each id (a batch may carry a producer retry twice). */
function uniqueBy<T>(items: readonly T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((t) => (seen.has(key(t)) ? false : (seen.add(key(t)), true)));
}

export function completionRow(e: CompletionEvent, ingestedAt: Date): CompletionEntity {
  return {
    id: e.completionId,
    conversationId: e.conversationId,
    comparisonId: e.comparisonId,
    messages: e.messages,
    response: e.response,
    modelVersion: e.modelVersion,
    sampling: e.sampling,
    promptTokens: e.promptTokens,
    completionTokens: e.completionTokens,
    finishReason: e.finishReason,
    ttftMs: e.ttftMs,
    latencyMs: e.latencyMs,
    userId: e.userId,
    apiKeyId: e.apiKeyId,
    shadow: e.shadow,
    createdAt: new Date(e.createdAt),
    ingestedAt,
  };
}

export function feedbackRow(e: FeedbackEvent, ingestedAt: Date): FeedbackEventEntity {
  return {
    id: e.eventId,
    completionId: e.completionId,
    type: e.type,
    value: e.value,
    otherCompletionId: e.otherCompletionId,
    editedResponse: e.editedResponse,
    comment: e.comment,
    userId: e.userId,
    apiKeyId: e.apiKeyId,
    createdAt: new Date(e.createdAt),
    ingestedAt,
  };
}

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
      throw new Error(`ingest repository: no Postgres array mapping for column ${where} of type ${String(type)}`);
  }
}

export class IngestRepository {
  private readonly unnestStatements = new Map<Function, { sql: string; columns: Array<{ property: string; encode: (v: unknown) => unknown }> }>();

  constructor(private readonly dataSource: DataSource) {}

  /**
   * `INSERT INTO t (c1, …) SELECT * FROM unnest($1::type[], …) ON CONFLICT DO NOTHING`,
   * built once per entity from its TypeORM metadata so it follows the entity's columns.
   */
  private unnestInsert(target: typeof CompletionEntity | typeof FeedbackEventEntity, rows: Array<CompletionEntity | FeedbackEventEntity>): [string, unknown[]] {
    let statement = this.unnestStatements.get(target);
    if (!statement) {
      const meta = this.dataSource.getMetadata(target);
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
      statement = { sql, columns };
      this.unnestStatements.set(target, statement);
    }
    const params = statement.columns.map((c) => rows.map((r) => c.encode((r as unknown as Record<string, unknown>)[c.property])));
    return [statement.sql, params];
  }

  async insertCompletions(events: readonly CompletionEvent[], ingestedAt = new Date()): Promise<InsertCounts> {
    const rows = uniqueBy(events, (e) => e.completionId).map((e) => completionRow(e, ingestedAt));
    return this.insertIgnoring(CompletionEntity, rows, events.length);
  }

  async insertFeedback(events: readonly FeedbackEvent[], ingestedAt = new Date()): Promise<InsertCounts> {
    const rows = uniqueBy(events, (e) => e.eventId).map((e) => feedbackRow(e, ingestedAt));
    return this.insertIgnoring(FeedbackEventEntity, rows, events.length);
  }

  /** Which of these completion ids are already persisted. */
  async existingCompletionIds(ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const repo = this.dataSource.getRepository(CompletionEntity);
    for (const part of chunks([...new Set(ids)], IDS_PER_LOOKUP)) {
      const rows = await repo.find({ select: { id: true }, where: { id: In(part) } });
      for (const r of rows) found.add(r.id);
    }
    return found;
  }

  /** Owners (API key ids) of persisted completions: the gateway's authoritative completion lookup. */
  async completionOwners(ids: readonly string[]): Promise<Map<string, string | null>> {
    const owners = new Map<string, string | null>();
    const repo = this.dataSource.getRepository(CompletionEntity);
    for (const part of chunks([...new Set(ids)], IDS_PER_LOOKUP)) {
      const rows = await repo.find({ select: { id: true, apiKeyId: true }, where: { id: In(part) } });
      for (const r of rows) owners.set(r.id, r.apiKeyId);
    }
    return owners;
  }

  private insertIgnoring(
    target: typeof CompletionEntity | typeof FeedbackEventEntity,
    rows: Array<CompletionEntity | FeedbackEventEntity>,
    received: number,
  ): Promise<InsertCounts> {
    if (rows.length === 0) return Promise.resolve({ inserted: 0, duplicates: received });
    // Embedded mode: SQLite's one shared connection must not run this batch's
    // statements interleaved with another consumer's transaction (a statement issued
    // inside someone else's BEGIN…ROLLBACK would be rolled back with it after its own
    // offset was committed). See platform/persistence/sqlite-serializer.ts.
    return serializeOnSqlite(this.dataSource, () => this.insertIgnoringNow(target, rows, received));
  }

  private async insertIgnoringNow(
    target: typeof CompletionEntity | typeof FeedbackEventEntity,
    rows: Array<CompletionEntity | FeedbackEventEntity>,
    received: number,
  ): Promise<InsertCounts> {
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
          ? this.unnestInsert(target, part)
          : runner.manager.createQueryBuilder().insert().into(target).values(part).orIgnore().updateEntity(false).getQueryAndParameters();
        const result: QueryResult = await runner.query(sql, params, true);
        inserted += result.affected ?? 0;
      }
      if (transactional) await runner.commitTransaction();
      return { inserted, duplicates: received - inserted };
    } catch (err) {
      if (transactional && runner.isTransactionActive) await runner.rollbackTransaction();
      throw err;
    } finally {
      await runner.release();
    }
  }
}
