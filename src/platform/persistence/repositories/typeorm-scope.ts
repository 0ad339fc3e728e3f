// How a TypeORM repository reaches the database: through an EntityManager that is
// either the data source's own (each call on its own) or a transaction's (the
// TransactionRunner hands those out). Writes outside a transaction still queue on
// SQLite's one shared connection (sqlite-serializer.ts); inside a transaction they
// are already queued, and queueing again would wait on itself.
import type { DataSource, EntityManager } from 'typeorm';
import { serializeOnSqlite } from '../sqlite-serializer.js';

export abstract class TypeOrmScope {
  constructor(protected readonly manager: EntityManager) {}

  protected get dataSource(): DataSource {
    return this.manager.connection;
  }

  protected get inTransaction(): boolean {
    return this.manager.queryRunner?.isTransactionActive ?? false;
  }

  /** Run a write so it never interleaves with another transaction on SQLite's shared connection. */
  protected write<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    if (this.inTransaction) return work(this.manager);
    return serializeOnSqlite(this.dataSource, () => work(this.manager));
  }
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** ids per `IN (…)` lookup: under both databases' bound-parameter caps (Postgres 65,535; SQLite 32,766) */
export const IDS_PER_LOOKUP = 5000;
