// TypeORM's better-sqlite3 driver runs every query of a DataSource on ONE shared
// query runner (BetterSqlite3Driver.createQueryRunner returns the same instance). Two
// async transactions in flight at once therefore interleave on one connection: the
// second BEGIN becomes a SAVEPOINT inside the first, a COMMIT ends the other's work,
// and TypeORM throws "Transaction is not started yet" — while a query issued between
// another's BEGIN and COMMIT sees its uncommitted rows. (Found by the bus benchmark:
// a subscriber polled inside a publish transaction and handled an event that was
// not committed yet.) Work that must not interleave goes through this per-DataSource
// queue: the bus, the ingest inserts, the dataset refresh and the base-policy
// registration. On Postgres (a connection per transaction) it is a pass-through.
import type { DataSource } from 'typeorm';

/** Runs work one at a time per DataSource, in arrival order; an error reaches only its caller. */
export class SerialQueue {
  private readonly tails = new WeakMap<DataSource, Promise<void>>();

  run<T>(dataSource: DataSource, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(dataSource) ?? Promise.resolve();
    const result = previous.then(work);
    this.tails.set(
      dataSource,
      result.then(
        () => undefined,
        () => undefined,
      ),
    );
    return result;
  }
}

const sqliteConnection = new SerialQueue();

export function serializeOnSqlite<T>(dataSource: DataSource, work: () => Promise<T>): Promise<T> {
  if (dataSource.options.type !== 'better-sqlite3') return work();
  return sqliteConnection.run(dataSource, work);
}
