// Helpers shared by the ingest fault test and the ingest benchmark: run the real
// `outerloop start --roles …` binary as child processes (so a SIGKILL is a real
// crash), talk HTTP to it over keep-alive connections, and make test events.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { EVENT_VERSION, type EventInput, type Topic } from '../../../src/platform/messaging/events.js';

const MAIN = fileURLToPath(new URL('../../../src/main.js', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface OuterloopProcess {
  readonly roles: string;
  readonly port: number;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** resolves with the exit code (or signal name) */
  readonly exited: Promise<number | string>;
  /** SIGKILL: a crash, no shutdown hooks, no offset commit */
  crash(): Promise<void>;
  /** SIGTERM and wait for a clean exit */
  stop(): Promise<void>;
  logTail(lines?: number): string;
}

export interface DistributedEnv {
  databaseUrl: string;
  brokers: string[];
  topicPrefix: string;
}

/** Start `node dist/src/main.js start --roles <roles>` in distributed mode. */
export async function startOuterloop(roles: string, target: DistributedEnv, logFile: string, extraEnv: Record<string, string> = {}): Promise<OuterloopProcess> {
  const port = await freePort();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('OUTERLOOP_')) env[k] = v;
  Object.assign(env, {
    OUTERLOOP_MODE: 'distributed',
    OUTERLOOP_DATABASE_URL: target.databaseUrl,
    OUTERLOOP_KAFKA_BROKERS: target.brokers.join(','),
    OUTERLOOP_TOPIC_PREFIX: target.topicPrefix,
    OUTERLOOP_HOST: '127.0.0.1',
    OUTERLOOP_PORT: String(port),
    OUTERLOOP_LOG_FORMAT: 'json',
    OUTERLOOP_MIGRATIONS_RUN: 'false',
    OUTERLOOP_SHUTDOWN_GRACE_MS: '10000',
    ...extraEnv,
  });
  const out = createWriteStream(logFile, { flags: 'a' });
  // e.g. OUTERLOOP_TEST_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the services under load
  const nodeArgs = (process.env.OUTERLOOP_TEST_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, MAIN, 'start', '--roles', roles], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const proc: OuterloopProcess = {
    roles,
    port,
    logFile,
    child,
    exited,
    async crash() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
    logTail(lines = 30) {
      try {
        return readFileSync(logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
      } catch (err) {
        return `(cannot read ${logFile}: ${(err as Error).message})`;
      }
    },
  };
  return proc;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** A small keep-alive JSON client (node:http): cheaper per request than fetch on 2 cores. */
export class JsonClient {
  private readonly agent: Agent;

  constructor(
    private readonly host: string,
    private readonly port: number,
    maxSockets = 64,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResponse> {
    const payload = Buffer.from(JSON.stringify(body));
    return this.send('POST', path, payload, headers);
  }

  get(path: string): Promise<HttpResponse> {
    return this.send('GET', path, null, {});
  }

  private send(method: string, path: string, payload: Buffer | null, headers: Record<string, string>): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.host,
          port: this.port,
          path,
          method,
          agent: this.agent,
          headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length, ...headers } : headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            if ((res.headers['content-type'] ?? '').includes('json')) {
              try {
                parsed = JSON.parse(text);
              } catch (err) {
                reject(new Error(`${method} ${path}: invalid JSON in a ${res.statusCode} response: ${(err as Error).message}`));
                return;
              }
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload ?? undefined);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Poll GET /readyz until 200. */
export async function waitUntilReady(proc: OuterloopProcess, timeoutMs = 60_000): Promise<void> {
  const client = new JsonClient('127.0.0.1', proc.port, 1);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (proc.child.exitCode !== null) throw new Error(`${proc.roles} exited early (${proc.child.exitCode}):\n${proc.logTail()}`);
      const r = await client.get('/readyz').catch(() => null);
      if (r?.status === 200) return;
      if (Date.now() > deadline) throw new Error(`${proc.roles} not ready after ${timeoutMs} ms:\n${proc.logTail()}`);
      await sleep(200);
    }
  } finally {
    client.close();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A completion event as the gateway would produce it. */
export function completionEvent(completionId: string, apiKeyId: string | null = null): EventInput<typeof Topic.completions> {
  return {
    v: EVENT_VERSION,
    eventId: completionId,
    completionId,
    conversationId: `conv-${completionId}`,
    messages: [{ role: 'user', content: 'How do I kill a Linux process?' }],
    response: 'Use `kill <pid>`; add -9 only if it ignores SIGTERM.',
    modelVersion: 'test-policy',
    sampling: { temperature: 0.7, topP: 1, maxTokens: 64, seed: null, stop: [] },
    promptTokens: 9,
    completionTokens: 14,
    finishReason: 'stop',
    ttftMs: 3,
    latencyMs: 21,
    userId: null,
    apiKeyId,
    shadow: false,
    createdAt: new Date().toISOString(),
  };
}

/** The i-th request body of a deterministic feedback mix (thumbs, rating, pairwise, edit). */
export function feedbackBody(i: number, completionIds: readonly string[], clientEventId?: string): Record<string, unknown> {
  const completion = completionIds[i % completionIds.length]!;
  const base: Record<string, unknown> = { completion_id: completion };
  if (clientEventId !== undefined) base.event_id = clientEventId;
  switch (i % 4) {
    case 0:
      return { ...base, type: 'thumbs', value: i % 8 === 0 ? 'up' : 'down' };
    case 1:
      return { ...base, type: 'rating', value: 1 + (i % 5) };
    case 2:
      return { ...base, type: 'pairwise', other_completion_id: completionIds[(i + 1) % completionIds.length], value: (i % 3) - 1 };
    default:
      return { ...base, type: 'edit', edited_response: `corrected answer #${i}`, comment: 'too verbose' };
  }
}
