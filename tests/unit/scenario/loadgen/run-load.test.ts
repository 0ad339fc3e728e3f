import assert from 'node:assert/strict';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { findPrompt } from '../../../../src/scenario/prompts.js';
import { GatewayClient, GatewayHttpError, parseRetryAfterMs } from '../../../../src/scenario/loadgen/api-client.js';
import { percentile } from '../../../../src/scenario/loadgen/latency.js';
import { formatLoadSummary, runLoad } from '../../../../src/scenario/loadgen/run-load.js';

/**
 * A tiny stand-in for the gateway: answers chat requests with the reference answer
 * (first choice) and the wrong reference (second choice), and refuses some requests
 * with 429 (Retry-After: 0) and 503 (no Retry-After) before they succeed.
 */
class FakeGateway {
  chatOk = 0;
  chatN2 = 0;
  served: Record<string, number> = {};
  feedback = new Map<string, Record<string, unknown>>();
  feedbackPosts = 0;
  prompts: string[] = [];
  models = new Set<string>();
  users = new Set<string>();
  private requestNo = 0;
  private completionNo = 0;
  authorization = new Set<string>();
  /** status to answer request number k with (1-based); undefined = serve it */
  constructor(private readonly plan: (k: number, path: string) => { status: number; headers?: Record<string, string> } | undefined) {}

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const k = ++this.requestNo;
      this.authorization.add(String(req.headers.authorization));
      const planned = this.plan(k, req.url ?? '');
      if (planned) {
        this.served[planned.status] = (this.served[planned.status] ?? 0) + 1;
        res.writeHead(planned.status, { 'content-type': 'application/json', ...planned.headers });
        res.end(JSON.stringify({ error: { message: `planned ${planned.status}` } }));
        return;
      }
      const json = JSON.parse(body) as Record<string, any>;
      if (req.url === '/v1/chat/completions') {
        this.prompts.push(json.messages.at(-1).content);
        this.models.add(json.model);
        this.users.add(json.user);
        const spec = findPrompt(json.messages.at(-1).content);
        assert.ok(spec, `the load generator asked a non-scenario prompt: ${json.messages.at(-1).content}`);
        const texts = [spec.reference, spec.wrongReference].slice(0, json.n);
        const id = `chatcmpl-${++this.completionNo}`;
        this.chatOk++;
        if (json.n === 2) this.chatN2++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({
          id,
          object: 'chat.completion',
          choices: texts.map((content, index) => ({ index, message: { role: 'assistant', content }, finish_reason: 'stop', ...(json.n === 2 ? { completion_id: `${id}-${index}` } : {}) })),
        }));
        return;
      }
      if (req.url === '/v1/feedback') {
        this.feedbackPosts++;
        this.feedback.set(json.event_id, json);
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ accepted: true }));
        return;
      }
      res.writeHead(404).end();
    });
  };
}

async function listen(gateway: FakeGateway): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer(gateway.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('load generator against a gateway that throttles and fails', () => {
  // every 5th request → 429 with Retry-After: 0, every 7th (not 5th) → 503 without it
  const gateway = new FakeGateway((k) => (k % 5 === 0 ? { status: 429, headers: { 'retry-after': '0' } } : k % 7 === 0 ? { status: 503 } : undefined));
  let server: { url: string; close: () => Promise<void> };
  before(async () => (server = await listen(gateway)));
  after(async () => server.close());

  it('completes every intended turn and counts requests, feedback and errors exactly', async () => {
    const lines: string[] = [];
    const summary = await runLoad({
      baseUrl: server.url, users: 4, rate: 200, durationS: 0.6, bias: '', seed: 7, apiKey: 'sk-test',
      // ~31% of requests are refused (every 5th and 7th): with the default 8 attempts a
      // request refused 8 times in a row has a chance of ~1e-4, which over ~250 requests
      // made this test fail about once in fifty runs on a loaded machine
      retry: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 40 }, progressIntervalS: 0.05, log: (l) => lines.push(l),
    });
    assert.equal(summary.intendedTurns, 120);
    assert.equal(summary.completedTurns, 120, JSON.stringify({ failed: summary.failedTurns, failuresByStatus: summary.failuresByStatus }));
    assert.equal(summary.failedTurns, 0);
    assert.deepEqual(summary.failuresByStatus, {});
    // what the client counted is what the server saw
    assert.equal(summary.requests.chat, gateway.chatOk);
    assert.equal(summary.requests.chat, 120);
    assert.equal(summary.requests.chatN2, gateway.chatN2);
    assert.ok(gateway.chatN2 > 10 && gateway.chatN2 < 70, `comparison turns ${gateway.chatN2}`);
    assert.equal(summary.requests.feedback, gateway.feedback.size, 'one feedback event per event id');
    assert.equal(gateway.feedbackPosts, gateway.feedback.size, 'no feedback delivered twice');
    assert.deepEqual(summary.errorsByStatus, { '429': gateway.served[429], '503': gateway.served[503] });
    assert.ok(gateway.served[429]! > 20 && gateway.served[503]! > 10);
    assert.equal(summary.httpAttempts, gateway.chatOk + gateway.feedbackPosts + gateway.served[429]! + gateway.served[503]!);
    assert.deepEqual([...gateway.authorization], ['Bearer sk-test']);
    assert.deepEqual([...gateway.models], ['outerloop'], 'the gateway requires a model; the routed alias is sent');
    assert.deepEqual([...gateway.users].sort(), ['sim-user-0', 'sim-user-1', 'sim-user-2', 'sim-user-3']);

    const byType: Record<string, number> = { thumbs: 0, rating: 0, pairwise: 0, edit: 0 };
    for (const f of gateway.feedback.values()) byType[f.type as string]!++;
    assert.deepEqual(summary.feedbackByType, byType);
    assert.equal(byType.pairwise, gateway.chatN2, 'every comparison gets a pairwise label');
    assert.deepEqual(summary.feedbackByOrigin, { honest: gateway.feedback.size, noise: 0, spam: 0, inverted: 0 });
    for (const f of gateway.feedback.values()) {
      assert.match(String(f.event_id), new RegExp(`^sim-${summary.runId}-\\d+$`));
      assert.match(String(f.user), /^sim-user-[0-3]$/);
      if (f.type === 'pairwise') {
        // first choice is the reference, second the wrong answer: an unbiased user picks the first
        assert.equal(f.value, 1);
        assert.match(String(f.completion_id), /-0$/);
        assert.equal(f.other_completion_id, String(f.completion_id).replace(/-0$/, '-1'));
      }
      if (f.type === 'thumbs') assert.equal(f.value, 1);
      if (f.type === 'rating') assert.equal(f.value, 5);
      if (f.type === 'edit') assert.fail('a perfect answer is never edited by an honest user');
    }
    // gold: n=1 turns served the reference (1), n=2 turns the reference and a wrong answer (−0.5)
    const expectedGold = (120 * 1 + gateway.chatN2 * -0.5) / (120 + gateway.chatN2);
    assert.ok(Math.abs(summary.meanGoldUtility! - expectedGold) < 1e-3, `${summary.meanGoldUtility} vs ${expectedGold}`);
    assert.equal(summary.latencyMs.chat.count, 120);
    assert.ok(summary.latencyMs.chat.p50 <= summary.latencyMs.chat.p90 && summary.latencyMs.chat.p90 <= summary.latencyMs.chat.p99);
    assert.ok(lines.length >= 1 && lines.every((l) => l.startsWith(`[loadgen ${summary.runId}]`)), 'progress lines');
    const text = formatLoadSummary(summary);
    assert.match(text, /turns\s+120\/120/);
    assert.match(text, /429=\d+ 503=\d+/);
  });

  it('asks the same prompts for the same seed, whatever the timing', async () => {
    const asked = async (): Promise<string[]> => {
      const g = new FakeGateway(() => undefined);
      const s = await listen(g);
      try {
        await runLoad({ baseUrl: s.url, users: 3, rate: 500, durationS: 0.06, bias: 'noise=0.2', seed: 3, progressIntervalS: 0 });
      } finally {
        await s.close();
      }
      return [...g.prompts].sort();
    };
    const first = await asked();
    assert.equal(first.length, 30);
    assert.deepEqual(await asked(), first);
  });
});

describe('load generator failure accounting', () => {
  it('fails a turn at once on a non-retriable status and reports it', async () => {
    const gateway = new FakeGateway((k, path) => (path === '/v1/chat/completions' && k % 2 === 0 ? { status: 400 } : undefined));
    const server = await listen(gateway);
    try {
      const summary = await runLoad({ baseUrl: server.url, users: 1, rate: 1000, durationS: 0.01, bias: NO_BIAS_TEXT, seed: 1, progressIntervalS: 0 });
      assert.equal(summary.intendedTurns, 10);
      assert.equal(summary.completedTurns + summary.failedTurns, 10);
      assert.equal(summary.failedTurns, gateway.served[400]);
      assert.deepEqual(summary.failuresByStatus, { '400': gateway.served[400] });
      assert.equal(summary.errorsByStatus['400'], gateway.served[400]);
    } finally {
      await server.close();
    }
  });

  it('gives up after maxAttempts on a gateway that stays unavailable, as retriable', async () => {
    const gateway = new FakeGateway(() => ({ status: 503, headers: { 'retry-after': '0' } }));
    const server = await listen(gateway);
    try {
      const client = new GatewayClient({ baseUrl: server.url, retry: { maxAttempts: 3 } });
      await assert.rejects(client.chat({ messages: [{ role: 'user', content: 'What is 2 + 2?' }], n: 1, user: 'u' }), (err: unknown) =>
        err instanceof GatewayHttpError && err.status === 503 && err.retriable && err.attempts === 3);
      assert.equal(gateway.served[503], 3);
    } finally {
      await server.close();
    }
  });

  it('retries feedback about a completion not ingested yet (404 completion_not_found), but no other 404', async () => {
    const calls = new Map<string, number>();
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const eventId = String(JSON.parse(body).event_id);
        const n = (calls.get(eventId) ?? 0) + 1;
        calls.set(eventId, n);
        // 'late' is ingested after the first try; 'gone' names a route that does not exist
        const code = eventId === 'gone' ? 'unknown_route' : n === 1 ? 'completion_not_found' : null;
        if (code) {
          res.writeHead(404, { 'content-type': 'application/json', 'retry-after': '0' });
          res.end(JSON.stringify({ error: { message: 'no completion', type: 'not_found_error', param: 'completion_id', code } }));
          return;
        }
        res.writeHead(202, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = new GatewayClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
      const sent = await client.sendFeedback({ completionId: 'c1', type: 'thumbs', value: 1, eventId: 'late' });
      assert.equal(sent.attempts, 2);
      await assert.rejects(client.sendFeedback({ completionId: 'c1', type: 'thumbs', value: 1, eventId: 'gone' }), (err: unknown) =>
        err instanceof GatewayHttpError && err.status === 404 && !err.retriable && err.attempts === 1);
      assert.deepEqual(Object.fromEntries(calls), { late: 2, gone: 1 });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('waits for Retry-After before retrying a 429', async () => {
    const gateway = new FakeGateway((k) => (k === 1 ? { status: 429, headers: { 'retry-after': '1' } } : undefined));
    const server = await listen(gateway);
    try {
      const client = new GatewayClient({ baseUrl: server.url });
      const result = await client.chat({ messages: [{ role: 'user', content: 'What is 2 + 2?' }], n: 1, user: 'u' });
      assert.equal(result.attempts, 2);
      assert.ok(result.latencyMs >= 950, `retried after ${result.latencyMs} ms, Retry-After was 1 s`);
      assert.equal(result.choices[0]!.content, '2 plus 2 is 4.');
    } finally {
      await server.close();
    }
  });

  it('reports network failures as retriable and rejects invalid options', async () => {
    const client = new GatewayClient({ baseUrl: 'http://127.0.0.1:9', retry: { maxAttempts: 2, baseDelayMs: 1 } });
    await assert.rejects(client.sendFeedback({ completionId: 'c', type: 'thumbs', value: 1, eventId: 'e' }), (err: unknown) =>
      err instanceof GatewayHttpError && err.status === 'network' && err.retriable);
    assert.throws(() => new GatewayClient({ baseUrl: 'not a url' }), /baseUrl/);
    await assert.rejects(runLoad({ baseUrl: 'http://x', users: 0, rate: 1, durationS: 1, bias: '', seed: 1 }), /users/);
    await assert.rejects(runLoad({ baseUrl: 'http://x', users: 1, rate: 1, durationS: 1, bias: 'bogus=1', seed: 1 }), /unknown bias/);
  });
});

describe('load generator helpers', () => {
  it('parses Retry-After as seconds or HTTP date', () => {
    assert.equal(parseRetryAfterMs('3'), 3000);
    assert.equal(parseRetryAfterMs(null), null);
    assert.equal(parseRetryAfterMs('soon'), null);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:02 GMT', now), 2000);
    assert.equal(parseRetryAfterMs('Wed, 31 Dec 2025 23:59:00 GMT', now), 0);
  });

  it('takes nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(xs, 0.5), 50);
    assert.equal(percentile(xs, 0.9), 90);
    assert.equal(percentile(xs, 0.99), 99);
    assert.equal(percentile([7], 0.99), 7);
  });
});

const NO_BIAS_TEXT = '';
