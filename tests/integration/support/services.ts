// The one rule for integration tests and the real services they need:
//  - under CI=true a missing or unreachable service FAILS the test file with a message
//    saying how to bring it up (a green CI run must mean the tests ran);
//  - outside CI the suite is skipped, visibly.
// Connection info comes from tests/infra/.env (written by `bash tests/infra/up.sh`,
// loaded by tests/run.mjs) or from the environment.
//
// Usage (top-level await is fine in ESM test files):
//   const kafka = await requireKafka();
//   describe('[kafka] ...', { skip: kafka.skip }, () => { const { brokers } = kafka.info!; ... });
// Name every integration test's top-level describe with its services' tag —
// `[kafka]`, `[postgres]` or `[kafka+postgres]` — tests/run.mjs counts them by it.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import pg from 'pg';
import { eventually } from '../../support/eventually.js';

export interface ServiceRequirement<T> {
  /** connection info, or null when the suite is skipped */
  info: T | null;
  /** false when available; otherwise the reason, for node:test's `skip` option */
  skip: string | false;
}

export interface KafkaInfo {
  brokers: string[];
}

export interface PostgresInfo {
  url: string;
}

const HOW_TO = 'run `bash tests/infra/up.sh` (starts Kafka and PostgreSQL and writes tests/infra/.env)';

function inCI(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

function unavailable<T>(service: string, variable: string, why: string): ServiceRequirement<T> {
  const message = `${service} is required: ${why}. Set ${variable} or ${HOW_TO}.`;
  if (inCI()) throw new Error(`[CI=true] ${message} Integration tests never skip in CI.`);
  process.stderr.write(`\n*** SKIPPING ${service} integration tests: ${message}\n\n`);
  return { info: null, skip: `${service} unavailable (${why})` };
}

function tcpReachable(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (error: string | null) => {
      socket.destroy();
      resolve(error);
    };
    socket.setTimeout(timeoutMs, () => finish(`no answer from ${host}:${port} within ${timeoutMs} ms`));
    socket.once('connect', () => finish(null));
    socket.once('error', (err) => finish(`${host}:${port}: ${err.message}`));
  });
}

export async function requireKafka(): Promise<ServiceRequirement<KafkaInfo>> {
  const raw = process.env.OUTERLOOP_TEST_KAFKA_BROKERS;
  if (!raw) return unavailable('Kafka', 'OUTERLOOP_TEST_KAFKA_BROKERS', 'OUTERLOOP_TEST_KAFKA_BROKERS is not set');
  const brokers = raw.split(',').map((b) => b.trim()).filter(Boolean);
  const first = brokers[0] ?? '';
  const m = /^(.+):(\d+)$/.exec(first);
  if (!m) return unavailable('Kafka', 'OUTERLOOP_TEST_KAFKA_BROKERS', `"${raw}" is not host:port[,host:port]`);
  let error = await tcpReachable(m[1]!, Number(m[2]), 10_000);
  for (let attempt = 2; error && attempt <= 3; attempt++) {
    await new Promise((r) => setTimeout(r, 1000));
    error = await tcpReachable(m[1]!, Number(m[2]), 10_000);
  }
  if (error) return unavailable('Kafka', 'OUTERLOOP_TEST_KAFKA_BROKERS', `broker unreachable (${error})`);
  return { info: { brokers }, skip: false };
}

export async function requirePostgres(): Promise<ServiceRequirement<PostgresInfo>> {
  const url = process.env.OUTERLOOP_TEST_DATABASE_URL;
  if (!url) return unavailable('PostgreSQL', 'OUTERLOOP_TEST_DATABASE_URL', 'OUTERLOOP_TEST_DATABASE_URL is not set');
  // a few patient attempts: on a loaded 2-core CI machine a healthy server can take
  // seconds to accept a connection, and a false "unavailable" fails the whole file
  let lastError = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return { info: { url }, skip: false };
    } catch (err) {
      lastError = (err as Error).message;
    } finally {
      await client.end().catch((err: unknown) => process.stderr.write(`closing the probe connection: ${String(err)}\n`));
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return unavailable('PostgreSQL', 'OUTERLOOP_TEST_DATABASE_URL', `cannot connect after 3 attempts (${lastError})`);
}

/**
 * A name no other test (or earlier run) uses: lowercase letters and digits only, so
 * it is valid as a Kafka topic/group prefix (add a '.'), a Postgres database or
 * schema name, and a file name. Tests never share topics, groups or databases.
 */
export function uniquePrefix(label = 't'): string {
  const clean = label.toLowerCase().replace(/[^a-z0-9]/g, '') || 't';
  return `${clean}${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

/**
 * A fresh, empty database on the test server (the test role has CREATEDB), for tests
 * that need their own schema and migrations. `drop()` removes it.
 */
export async function createTestDatabase(info: PostgresInfo, label = 'db'): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = uniquePrefix(label);
  const admin = new pg.Client({ connectionString: info.url, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(info.url);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: info.url, connectionTimeoutMillis: 5000 });
      await c.connect();
      try {
        // WITH (FORCE) (PG 13+): a test that failed may have left connections open
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Poll until `check` returns a truthy value (tests/support/eventually.ts, polling every 50 ms here). */
export function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 50): Promise<NonNullable<T>> {
  return eventually(what, check, timeoutMs, intervalMs);
}

/**
 * Delete every topic whose name starts with `topicPrefix` (what a test's buses
 * created). Every KRaft partition is a directory the broker loads at start-up, so a
 * test broker that keeps each run's topics restarts slower and slower.
 */
export async function deleteKafkaTopics(info: KafkaInfo, topicPrefix: string): Promise<number> {
  if (topicPrefix.length < 4) throw new Error(`deleteKafkaTopics: refusing a prefix this short ("${topicPrefix}")`);
  const { default: kafkajs } = await import('kafkajs');
  const admin = new kafkajs.Kafka({ brokers: info.brokers, clientId: 'test-cleanup', logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(topicPrefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
    return topics.length;
  } finally {
    await admin.disconnect();
  }
}
