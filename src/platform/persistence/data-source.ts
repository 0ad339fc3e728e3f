// The TypeORM DataSource for either mode (ARCHITECTURE §2 "two modes, one code
// path"): better-sqlite3 in embedded mode, PostgreSQL in distributed mode, the same
// entities and the same migrations. Schema changes only through migrations:
// synchronize and migrationsRun are always off, and callers run `runMigrations`
// explicitly (at start in embedded mode, `outerloop migrate` in distributed mode).
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { OuterloopConfig } from '../../config/config.js';
import type { Logger } from '../logging/logger.js';
import { BUS_ENTITIES } from '../messaging/embedded/bus.entities.js';
import { MIGRATIONS } from '../../../migrations/index.js';
import { ENTITIES } from './entities/index.js';

export interface DataSourceExtras {
  /** PostgreSQL connection pool size (default 10) */
  poolSize?: number;
  /** SQLite: ms a writer waits for the lock before SQLITE_BUSY (default 5000) */
  busyTimeoutMs?: number;
  /** log every SQL statement (debugging only) */
  logging?: boolean;
}

export function createDataSource(config: OuterloopConfig['database'], opts: DataSourceExtras = {}): DataSource {
  const common = {
    entities: [...ENTITIES, ...BUS_ENTITIES],
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    // Each migration in its own transaction so a failure leaves the schema at the
    // last good version rather than half-applied.
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: opts.logging ?? false,
  } satisfies Partial<DataSourceOptions>;

  if (config.type === 'better-sqlite3') {
    const path = config.path === ':memory:' ? ':memory:' : resolve(config.path);
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    return new DataSource({
      ...common,
      type: 'better-sqlite3',
      database: path,
      // better-sqlite3's `timeout` is SQLite's busy timeout: concurrent writers (the
      // embedded bus and the ingest consumer share the file) wait instead of failing.
      timeout: opts.busyTimeoutMs ?? 5000,
      // WAL: readers never block the single writer, and a committed transaction is
      // durable after the WAL fsync — an acknowledged event survives a crash.
      enableWAL: true,
      prepareDatabase: (db: { pragma(source: string): unknown }) => {
        // synchronous=NORMAL is durable in WAL mode except for the last transactions
        // on power loss (not process crash), the trade SQLite documents for WAL.
        db.pragma('synchronous = NORMAL');
      },
      // foreign_keys=ON is set by TypeORM's better-sqlite3 driver on every connection.
    });
  }

  if (!config.url) throw new Error('database.url: a postgres:// URL is required for the postgres driver');
  const ds = new DataSource({
    ...common,
    type: 'postgres',
    url: config.url,
    poolSize: opts.poolSize ?? 10,
    connectTimeoutMS: 10_000,
  });
  useTimestamptzForDates(ds);
  return ds;
}

/**
 * Entities declare timestamps as `type: Date` so one definition serves both
 * databases; TypeORM maps that to `timestamp` (without time zone) on Postgres, while
 * the migrations create `timestamptz` — the right type for instants, independent of
 * the server's TimeZone setting. Teach this data source's driver the same mapping,
 * so its view of the schema (schema diff, throwaway-test synchronize) agrees with the
 * migrations. Only the schema mapping changes: values are still converted as Dates
 * (pg sends a Date with its offset and parses timestamptz back into a Date).
 */
function useTimestamptzForDates(ds: DataSource): void {
  const driver = ds.driver as unknown as {
    normalizeType(column: { type?: unknown }): string;
    mappedDataTypes: Record<string, unknown>;
  };
  const normalize = driver.normalizeType.bind(driver);
  driver.normalizeType = (column) => (column.type === Date ? 'timestamp with time zone' : normalize(column));
  for (const key of ['createDate', 'updateDate', 'deleteDate']) driver.mappedDataTypes[key] = 'timestamptz';
}

/** Apply pending migrations; returns the names of those applied. */
export async function runMigrations(ds: DataSource): Promise<string[]> {
  return withForeignKeysRestored(ds, async () => {
    const applied = await ds.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  });
}

/** Revert the most recently applied migration (`outerloop migrate --revert`, tests). */
export async function revertLastMigration(ds: DataSource): Promise<void> {
  await withForeignKeysRestored(ds, () => ds.undoLastMigration({ transaction: 'each' }));
}

/**
 * TypeORM's better-sqlite3 runner switches `foreign_keys` OFF before migrations and
 * back ON after them — but not when a migration throws, which would leave the one
 * shared connection silently accepting orphan rows for the life of the process
 * (found by the persistence contract test). Re-assert it whatever happens.
 */
async function withForeignKeysRestored<T>(ds: DataSource, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    if (ds.options.type === 'better-sqlite3' && ds.isInitialized) await ds.query('PRAGMA foreign_keys = ON');
  }
}

/** Error codes that mean "the database is not there yet", worth waiting for. */
const RETRIABLE_CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND', // compose/k8s DNS may resolve the service only once it is scheduled
  'EAI_AGAIN',
  '57P03', // postgres: cannot_connect_now (starting up / recovering)
  '53300', // postgres: too_many_connections
  'SQLITE_BUSY',
]);

export class DatabaseConnectError extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'DatabaseConnectError';
  }
}

/** Whether a connection failure is worth retrying (the database may come up) or
 *  final (bad credentials, missing database, unreadable file). */
export function isRetriableConnectError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && RETRIABLE_CONNECT_CODES.has(code)) return true;
  const message = err instanceof Error ? err.message : String(err);
  // pg reports a server closing the socket during startup without a code
  return /Connection terminated|timeout expired|the database system is starting up/i.test(message);
}

export interface ConnectRetryOptions {
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** give up after this many attempts (default: never — the process stays unready
   *  and keeps waiting, which is what an orchestrator's readiness probe expects) */
  maxAttempts?: number;
  signal?: AbortSignal;
}

/**
 * Initialize the data source, waiting with exponential backoff while the database is
 * unreachable. Logs what it waits for on every attempt, so a stuck start is
 * diagnosable from the logs. Non-retriable errors (wrong password, no such database)
 * are thrown at once: waiting would not fix them.
 */
export async function connectWithRetry(ds: DataSource, logger: Logger, opts: ConnectRetryOptions = {}): Promise<DataSource> {
  const initial = opts.initialDelayMs ?? 250;
  const max = opts.maxDelayMs ?? 10_000;
  const target = describeTarget(ds);
  for (let attempt = 1; ; attempt++) {
    try {
      if (!ds.isInitialized) await ds.initialize();
      if (attempt > 1) logger.info('database connected', { target, attempt });
      return ds;
    } catch (err) {
      const retriable = isRetriableConnectError(err);
      const message = err instanceof Error ? err.message : String(err);
      if (!retriable) {
        throw new DatabaseConnectError(`cannot connect to ${target}: ${message}`, false, err);
      }
      if (opts.maxAttempts !== undefined && attempt >= opts.maxAttempts) {
        throw new DatabaseConnectError(`database ${target} still unreachable after ${attempt} attempts: ${message}`, true, err);
      }
      // full jitter (AWS "Exponential Backoff and Jitter"): replicas restarting
      // together do not hammer the database in lockstep
      const ceiling = Math.min(max, initial * 2 ** (attempt - 1));
      const delayMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
      logger.warn('waiting for database', { target, attempt, retryInMs: delayMs, error: message });
      await sleep(delayMs, opts.signal);
    }
  }
}

function describeTarget(ds: DataSource): string {
  const o = ds.options;
  if (o.type === 'postgres') {
    if (o.url) {
      if (!URL.canParse(o.url)) return 'postgres (unparsable url)';
      const u = new URL(o.url);
      return `postgres://${u.hostname}:${u.port || 5432}${u.pathname}`; // never log the password
    }
    return `postgres://${o.host ?? 'localhost'}:${o.port ?? 5432}/${o.database ?? ''}`;
  }
  if (o.type === 'better-sqlite3') return `sqlite:${o.database}`;
  return o.type;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res, rej) => {
    if (signal?.aborted) return rej(new DatabaseConnectError('connect aborted', false, signal.reason));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      res();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      rej(new DatabaseConnectError('connect aborted', false, signal?.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
