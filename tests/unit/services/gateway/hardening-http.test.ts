// Gateway failures found with the official Python client and an OpenAPI fuzzer
// (issue 11, item 5), each pinned over real HTTP against the real gateway module with
// the fake engine: what can be checked before a stream's first byte is an HTTP error,
// bodies are bounded in time and size and authenticated before they are read, every
// error — the server's own 408/431 included — has OpenAI's shape and a stable code,
// GET /v1/models/{id} exists, a stream honours Connection: close, rate-limit headers
// are OpenAI's, and open mode answers only to loopback Host names.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { NonFiniteError } from '../../../../src/engine/errors.js';
import { CHAT_BODY_LIMIT } from '../../../../src/services/gateway/http/gateway-hooks.js';
import { MapKeyStore, parseSse, startTestGateway, type TestGateway } from './support/test-gateway.js';

const hello = { model: 'outerloop', messages: [{ role: 'user', content: 'How do I kill a Linux process?' }] };
const FAULT = 'please simulate a model fault';

async function post(g: TestGateway, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${g.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { res, text, json: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : null };
}

/** A raw HTTP/1.1 exchange: what the server writes until it closes the socket. */
function rawExchange(url: string, head: string, body = ''): { socket: Socket; response: Promise<string> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.write(head + body);
  const response = new Promise<string>((resolve, reject) => {
    let data = '';
    socket.on('data', (d) => (data += d.toString('utf8')));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
  });
  return { socket, response };
}

function statusAndJson(raw: string): { status: number; headers: string; json: any } {
  const [headers, ...rest] = raw.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers!)![1]), headers: headers!, json: JSON.parse(rest.join('\r\n\r\n')) };
}

function assertOpenAIError(json: any, code: string): void {
  assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(json.error.code, code, JSON.stringify(json));
}

describe('chat: checked before the first byte, engine faults mapped by code', () => {
  let g: TestGateway;
  before(async () => {
    g = await startTestGateway({
      backend: {
        contextChars: 200,
        faultAfterFirstToken: (p) => (JSON.stringify(p.prompt).includes(FAULT) ? new NonFiniteError('logits', 0, Number.NaN) : null),
      },
    });
  });
  after(async () => g.close());

  it('a prompt longer than the context with stream: true is a 400 context_length_exceeded, not a 200 with an error event', async () => {
    const long = { model: 'outerloop', messages: [{ role: 'user', content: 'x'.repeat(500) }] };
    const plain = await post(g, long);
    assert.equal(plain.res.status, 400);
    const streamed = await post(g, { ...long, stream: true });
    assert.equal(streamed.res.status, 400, streamed.text);
    assert.match(streamed.res.headers.get('content-type')!, /application\/json/);
    assertOpenAIError(streamed.json, 'context_length_exceeded');
    assert.equal(streamed.json.error.param, 'messages');
  });

  it('non-finite logits reach the client as a 503 model_output_invalid, never a 500', async () => {
    const r = await post(g, { ...hello, messages: [{ role: 'user', content: FAULT }] });
    assert.equal(r.res.status, 503, r.text);
    assertOpenAIError(r.json, 'model_output_invalid');
  });

  it('a stop sequence is cut by the engine alone: streamed deltas and the final text agree', async () => {
    const full = (await post(g, { ...hello, seed: 3 })).json.choices[0].message.content as string;
    const stop = full.slice(full.indexOf(' ', 8), full.indexOf(' ', 8) + 4);
    const plain = await post(g, { ...hello, seed: 3, stop });
    const streamed = await post(g, { ...hello, seed: 3, stop, stream: true });
    const text = parseSse(streamed.text).events.flatMap((e) => e.choices.map((c: any) => c.delta.content ?? '')).join('');
    assert.equal(plain.json.choices[0].message.content, full.slice(0, full.indexOf(stop)));
    assert.equal(text, plain.json.choices[0].message.content);
  });

  it('GET /v1/models/{id}: the alias and a version; an unknown id is a 404 model_not_found', async () => {
    for (const id of ['outerloop', 'v1']) {
      const res = await fetch(`${g.url}/v1/models/${id}`);
      assert.equal(res.status, 200);
      const model = (await res.json()) as any;
      assert.deepEqual([model.id, model.object, model.owned_by], [id, 'model', 'outerloop']);
    }
    const missing = await fetch(`${g.url}/v1/models/nope`);
    assert.equal(missing.status, 404);
    assertOpenAIError(await missing.json(), 'model_not_found');
  });

  it('a stream honours Connection: close: the server closes the socket after [DONE]', async () => {
    const body = JSON.stringify({ ...hello, stream: true });
    const { response } = rawExchange(
      g.url,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
      body,
    );
    const raw = await response; // resolves only when the server closes the connection
    assert.match(raw, /^HTTP\/1\.1 200/);
    assert.match(raw, /data: \[DONE\]/);
    assert.doesNotMatch(raw.split('\r\n\r\n')[0]!, /keep-alive/i);
  });

  it('a gzip body is a 415 unsupported_content_encoding; malformed JSON a 400 invalid_json', async () => {
    const gz = await post(g, gzipSync(JSON.stringify(hello)), { 'content-encoding': 'gzip' });
    assert.equal(gz.res.status, 415);
    assertOpenAIError(gz.json, 'unsupported_content_encoding');
    const bad = await post(g, '{"model": "outerloop", "messages": [');
    assert.equal(bad.res.status, 400);
    assertOpenAIError(bad.json, 'invalid_json');
  });

  it(`a chat body over ${CHAT_BODY_LIMIT} bytes is a 413 request_too_large, declared or chunked`, async () => {
    const big = JSON.stringify({ ...hello, user: 'u', messages: [{ role: 'user', content: 'x'.repeat(CHAT_BODY_LIMIT) }] });
    const declared = await post(g, big);
    assert.equal(declared.res.status, 413);
    assertOpenAIError(declared.json, 'request_too_large');
    const { response } = rawExchange(
      g.url,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      `${Buffer.byteLength(big).toString(16)}\r\n${big}\r\n0\r\n\r\n`,
    );
    const chunked = statusAndJson(await response);
    assert.equal(chunked.status, 413);
    assertOpenAIError(chunked.json, 'request_too_large');
  });
});

describe('the HTTP server: timeouts and its own errors in OpenAI shape', () => {
  let g: TestGateway;
  before(async () => {
    // production defaults are 30 s / 15 s; short here so the test takes a second, checked every 50 ms
    g = await startTestGateway({ http: { requestTimeoutMs: 800, headersTimeoutMs: 800, timeoutCheckIntervalMs: 50 } });
  });
  after(async () => g.close());

  it('a body that never completes is answered 408 request_timeout and the connection closed', { timeout: 20_000 }, async () => {
    const { response } = rawExchange(
      g.url,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`,
      '{"model": "outerl',
    );
    const r = statusAndJson(await response); // resolves only when the server closes the socket
    assert.equal(r.status, 408);
    assertOpenAIError(r.json, 'request_timeout');
  });

  it('oversized headers are a 431 headers_too_large in OpenAI shape', async () => {
    const { response } = rawExchange(g.url, `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`);
    const r = statusAndJson(await response);
    assert.equal(r.status, 431);
    assertOpenAIError(r.json, 'headers_too_large');
  });
});

describe('keys: authenticated before the body is read; OpenAI rate-limit headers', () => {
  let g: TestGateway;
  before(async () => {
    const keys = new MapKeyStore().add('sk-limited', { id: 'key-l', scopes: ['chat'], rateLimitPerMinute: 3, revoked: false });
    g = await startTestGateway({ options: { auth: 'required' }, keys });
  });
  after(async () => g.close());

  it('an unauthenticated request announcing an 8 MB body is refused with 401 before the body is sent', { timeout: 20_000 }, async () => {
    const { socket, response } = rawExchange(
      g.url,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${8 * 1024 * 1024}\r\n\r\n`,
      '{"model":',
    );
    // the answer arrives although the body never will, and the server closes the connection
    const raw = await response;
    assert.match(raw, /^HTTP\/1\.1 401/);
    assert.match(raw, /connection: close/i);
    assert.equal(socket.destroyed, true);
  });

  it('x-ratelimit-limit/remaining/reset-requests on answers, streams and the 429', async () => {
    const auth = { authorization: 'Bearer sk-limited' };
    const first = await post(g, hello, auth);
    assert.equal(first.res.status, 200);
    assert.equal(first.res.headers.get('x-ratelimit-limit-requests'), '3');
    assert.equal(first.res.headers.get('x-ratelimit-remaining-requests'), '2');
    assert.match(first.res.headers.get('x-ratelimit-reset-requests')!, /^\d+(ms|s)$/);
    const streamed = await post(g, { ...hello, stream: true }, auth);
    assert.equal(streamed.res.status, 200);
    assert.equal(streamed.res.headers.get('x-ratelimit-remaining-requests'), '1');
    await post(g, hello, auth);
    const limited = await post(g, hello, auth);
    assert.equal(limited.res.status, 429);
    assert.equal(limited.res.headers.get('x-ratelimit-remaining-requests'), '0');
    assert.ok(Number(limited.res.headers.get('retry-after')) >= 1);
  });
});

describe('open mode on a loopback address: only loopback Host names (DNS rebinding)', () => {
  let g: TestGateway;
  before(async () => {
    g = await startTestGateway({ options: { auth: 'open', loopbackHostsOnly: true } });
  });
  after(async () => g.close());

  it('a foreign Host is a 403 host_not_allowed; localhost, 127.0.0.1 and [::1] are served', async () => {
    const port = new URL(g.url).port;
    const ask = async (host: string) => {
      const { response } = rawExchange(g.url, `GET /v1/models HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      return statusAndJson(await response);
    };
    const foreign = await ask(`rebind.attacker.example:${port}`);
    assert.equal(foreign.status, 403);
    assertOpenAIError(foreign.json, 'host_not_allowed');
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'localhost']) assert.equal((await ask(host)).status, 200, host);
  });
});
