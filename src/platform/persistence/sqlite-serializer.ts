// TypeORM's better-sqlite3 driver runs every query of a DataSource on ONE shared
// query runner (BetterSqlite3Driver.createQueryRunner returns the same instance). Two
// async transactions in flight at once therefore interleave on one connection: the
// second BEGIN becomes a SAVEPOINT inside the first, a COMMIT ends the other's work,
// and TypeORM throws "Transaction is not started yet" — while a query issued between
// another's BEGIN and COMMIT sees its uncommitted rows. (Found by the bus benchmark:
// a subscriber polled inside a publish transaction and handled an event that was
// not committed yet.) Work that must not interleave goes through this per-DataSource
// queue. Other embedded-mode code that opens TypeORM transactions on the same SQLite
// DataSource should use it too; on Postgres (a connection per transaction) it is a
// pass-through.
import type { DataSource } from 'typeorm';

const queues = new WeakMap<DataSource, Promise<void>>();

export function serializeOnSqlite<T>(dataSource: DataSource, work: () => Promise<T>): Promise<T> {
  if (dataSource.options.type !== 'better-sqlite3') return work();
  const previous = queues.get(dataSource) ?? Promise.resolve();
  const result = previous.then(work);
  // the queue continues whether this work succeeded or not; its caller gets the error
  queues.set(
    dataSource,
    result.then(
      () => undefined,
      () => undefined,
    ),
  );
  return result;
}
