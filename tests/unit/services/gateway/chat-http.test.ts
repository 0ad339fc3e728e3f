// The chat endpoint over real HTTP (Fastify listening on 127.0.0.1:0) with a
// deterministic fake engine: wire shapes, SSE framing, errors, admission control,
// client disconnect, auth and the completion log.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { MapKeyStore, parseSse, startTestGateway, type TestGateway } from './support/test-gateway.js';
import { eventually } from '../../../support/eventually.js';

const hello = { model: 'outerloop', messages: [{ role: 'user', content: 'How do I kill a Linux process?' }] };

async function post(g: TestGateway, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${g.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { res, text, json: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : null };
}


describe('POST /v1/chat/completions (open mode, fake engine)', () => {
  let g: TestGateway;
  before(async () => {
    g = await startTestGateway();
  });
  after(async () => g.close());

  it('answers a non-streaming request in OpenAI shape with completion id and version', async () => {
    const { res, json } = await post(g, { ...hello, seed: 7 });
    assert.equal(res.status, 200);
    assert.equal(json.object, 'chat.completion');
    assert.match(json.id, /^chatcmpl-[0-9a-f]{32}$/);
    assert.equal(json.model, 'v1');
    assert.equal(json.choices.length, 1);
    assert.equal(json.choices[0].message.role, 'assistant');
    assert.match(json.choices[0].message.content, /^\[v1\]/);
    assert.equal(json.choices[0].finish_reason, 'stop');
    assert.equal(json.choices[0].completion_id, json.id);
    assert.deepEqual(json.usage, { prompt_tokens: 7, completion_tokens: 12, total_tokens: 19 });
    assert.equal(json.outerloop.completion_id, json.id);
    assert.equal(json.outerloop.model_version, 'v1');
    assert.equal(res.headers.get('x-outerloop-model-version'), 'v1');
    assert.equal(res.headers.get('x-outerloop-completion-id'), json.id);
    await g.completions.whenIdle();
    const logged = g.bus.published.find((p) => p.value.completionId === json.id);
    assert.ok(logged, 'completion was produced to the bus');
    assert.equal(logged.topic, 'outerloop.completions');
    assert.equal(logged.value.response, json.choices[0].message.content);
    assert.equal(logged.value.modelVersion, 'v1');
    assert.equal(logged.value.sampling.seed, 7);
    assert.equal(logged.value.completionTokens, 12);
    assert.equal(logged.value.shadow, false);
    assert.equal(logged.key, logged.value.conversationId);
  });

  it('same seed → same text; different seeds → different text', async () => {
    const a = await post(g, { ...hello, seed: 42 });
    const b = await post(g, { ...hello, seed: 42 });
    const c = await post(g, { ...hello, seed: 43 });
    assert.equal(a.json.choices[0].message.content, b.json.choices[0].message.content);
    assert.notEqual(a.json.choices[0].message.content, c.json.choices[0].message.content);
  });

  it('max_tokens → finish_reason length; stop sequence cut from the text', async () => {
    const a = await post(g, { ...hello, max_tokens: 3 });
    assert.equal(a.json.choices[0].finish_reason, 'length');
    assert.equal(a.json.usage.completion_tokens, 3);
    const full = (await post(g, { ...hello, seed: 5 })).json.choices[0].message.content as string;
    const word = full.split(' ')[3]!;
    const cut = await post(g, { ...hello, seed: 5, stop: [` ${word}`] });
    assert.equal(cut.json.choices[0].message.content, full.slice(0, full.indexOf(` ${word}`)));
    assert.equal(cut.json.choices[0].finish_reason, 'stop');
  });

  it('n=2 gives two choices, each with its own completion id, logged with a shared comparisonId', async () => {
    const { json, res } = await post(g, { ...hello, n: 2, seed: 1 });
    assert.equal(json.choices.length, 2);
    const [a, b] = json.choices;
    assert.notEqual(a.completion_id, b.completion_id);
    assert.notEqual(a.message.content, b.message.content, 'two samples differ (seed+i)');
    assert.equal(res.headers.get('x-outerloop-completion-id'), `${a.completion_id},${b.completion_id}`);
    assert.ok(json.outerloop.comparison.id);
    await g.completions.whenIdle();
    const logged = g.bus.published.filter((p) => [a.completion_id, b.completion_id].includes(p.value.completionId));
    assert.equal(logged.length, 2);
    assert.equal(logged[0]!.value.comparisonId, json.outerloop.comparison.id);
    assert.equal(logged[1]!.value.comparisonId, json.outerloop.comparison.id);
  });

  it('logprobs with top_logprobs in OpenAI shape', async () => {
    const { json } = await post(g, { ...hello, logprobs: true, top_logprobs: 2, max_tokens: 4 });
    const lp = json.choices[0].logprobs.content;
    assert.equal(lp.length, 4);
    assert.equal(typeof lp[0].token, 'string');
    assert.ok(lp[0].logprob < 0);
    assert.deepEqual(lp[0].bytes, [...Buffer.from(lp[0].token)]);
    assert.equal(lp[0].top_logprobs.length, 2);
  });

  it('streams SSE: role chunk first, content deltas, finish_reason, usage chunk, [DONE]', async () => {
    const res = await fetch(`${g.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...hello, seed: 9, stream: true, stream_options: { include_usage: true } }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /text\/event-stream/);
    const { events, done } = parseSse(await res.text());
    assert.ok(done, 'ends with data: [DONE]');
    assert.ok(events.every((e) => e.object === 'chat.completion.chunk'));
    assert.deepEqual(events[0].choices[0].delta, { role: 'assistant', content: '', refusal: null });
    const text = events.flatMap((e) => e.choices.map((c: any) => c.delta.content ?? '')).join('');
    const nonStream = await post(g, { ...hello, seed: 9 });
    assert.equal(text, nonStream.json.choices[0].message.content, 'streamed text equals the non-streamed text');
    const finish = events.filter((e) => e.choices[0]?.finish_reason);
    assert.equal(finish.length, 1);
    assert.equal(finish[0].choices[0].finish_reason, 'stop');
    const last = events[events.length - 1];
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, { prompt_tokens: 7, completion_tokens: 12, total_tokens: 19 });
    assert.ok(events.slice(0, -1).every((e) => e.usage === null));
    assert.equal(new Set(events.map((e) => e.id)).size, 1);
    assert.equal(res.headers.get('x-outerloop-completion-id'), events[0].id);
  });

  it('streams n=2: each choice index gets its role chunk, its own completion id and a finish chunk', async () => {
    const res = await fetch(`${g.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...hello, seed: 4, n: 2, stream: true }),
    });
    const { events, done } = parseSse(await res.text());
    assert.ok(done);
    const plain = await post(g, { ...hello, seed: 4, n: 2 });
    for (const index of [0, 1]) {
      const mine = events.flatMap((e) => e.choices).filter((c: any) => c.index === index);
      assert.equal(mine[0].delta.role, 'assistant');
      assert.match(mine[0].completion_id, /^chatcmpl-/);
      assert.equal(mine.filter((c: any) => c.finish_reason).length, 1);
      assert.equal(mine.map((c: any) => c.delta.content ?? '').join(''), plain.json.choices[index].message.content);
    }
    const ids = events.flatMap((e) => e.choices).filter((c: any) => c.delta.role).map((c: any) => c.completion_id);
    assert.equal(new Set(ids).size, 2);
  });

  it('streaming never shows a stop string the final text excludes', async () => {
    const full = (await post(g, { ...hello, seed: 11 })).json.choices[0].message.content as string;
    const stop = full.slice(full.indexOf(' ', 10), full.indexOf(' ', 10) + 6);
    const res = await fetch(`${g.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...hello, seed: 11, stream: true, stop }),
    });
    const { events } = parseSse(await res.text());
    const text = events.flatMap((e) => e.choices.map((c: any) => c.delta.content ?? '')).join('');
    assert.equal(text, full.slice(0, full.indexOf(stop)));
  });

  it('invalid requests → 400 invalid_request_error naming the param', async () => {
    const cases: Array<[unknown, string | null]> = [
      [{ model: 'outerloop' }, 'messages'],
      [{ ...hello, temperature: 5 }, 'temperature'],
      [{ ...hello, messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
      [{ ...hello, n: 0 }, 'n'],
      [{ ...hello, top_logprobs: 3 }, 'top_logprobs'],
      [{ ...hello, max_tokens: -1 }, 'max_tokens'],
    ];
    for (const [body, param] of cases) {
      const { res, json } = await post(g, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(json.error.type, 'invalid_request_error');
      assert.equal(json.error.param, param);
      assert.ok(json.error.message.includes(param!));
    }
    const bad = await post(g, '{"model": ');
    assert.equal(bad.res.status, 400);
    assert.equal(bad.json.error.type, 'invalid_request_error');
  });

  it('unknown model → 404 model_not_found', async () => {
    const { res, json } = await post(g, { ...hello, model: 'gpt-9' });
    assert.equal(res.status, 404);
    assert.deepEqual(json.error, { message: json.error.message, type: 'invalid_request_error', param: 'model', code: 'model_not_found' });
  });

  it('a version can be named directly; GET /v1/models lists the alias and the versions', async () => {
    const { json } = await post(g, { ...hello, model: 'v1' });
    assert.equal(json.model, 'v1');
    const models = (await (await fetch(`${g.url}/v1/models`)).json()) as any;
    assert.deepEqual(models.data.map((m: any) => m.id), ['outerloop', 'v1']);
  });

  it('counts requests by route/status/version', async () => {
    const before = await g.metric('outerloop_gateway_requests_total{status="200",model_version="v1"}');
    await post(g, hello);
    assert.equal(await g.metric('outerloop_gateway_requests_total{status="200",model_version="v1"}'), before + 1);
    assert.ok((await g.metric('outerloop_gateway_generated_tokens_total')) > 0);
  });
});

describe('admission control and disconnects', () => {
  it('a full queue answers 429 with Retry-After; queued requests complete', async () => {
    const g = await startTestGateway({ options: { maxConcurrent: 1, maxWaiting: 1 }, backend: { tokenDelayMs: 20, tokensPerAnswer: 5 } });
    try {
      const first = post(g, hello);
      await eventually('first admitted', () => g.admission.activeSlots === 1);
      const second = post(g, hello);
      await eventually('second queued', () => g.admission.waiting === 1);
      const third = await post(g, hello);
      assert.equal(third.res.status, 429);
      assert.equal(third.res.headers.get('retry-after'), '1');
      assert.equal(third.json.error.type, 'rate_limit_error');
      assert.equal((await first).res.status, 200);
      assert.equal((await second).res.status, 200);
      assert.equal(await g.metric('outerloop_gateway_rejected_total{reason="queue_full"}'), 1);
    } finally {
      await g.close();
    }
  });

  it('a client disconnect mid-stream cancels the generation and frees its slot', async () => {
    const g = await startTestGateway({ options: { maxConcurrent: 2, maxWaiting: 4 }, backend: { tokenDelayMs: 30, tokensPerAnswer: 1000 } });
    try {
      const req = httpRequest(`${g.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } });
      let received = '';
      const gotSomeTokens = new Promise<void>((resolve) => {
        req.on('response', (res) => {
          res.on('data', (d) => {
            received += d;
            if ((received.match(/"content"/g) ?? []).length >= 3) resolve();
          });
          res.on('error', () => {});
        });
      });
      req.on('error', () => {});
      req.end(JSON.stringify({ ...hello, stream: true, max_tokens: 1000 }));
      await gotSomeTokens;
      assert.equal(g.admission.activeSlots, 1);
      req.destroy();
      await eventually('slot freed after disconnect', () => g.admission.activeSlots === 0 && g.backends[0]!.active === 0);
      assert.equal(await g.metric('outerloop_gateway_queue_depth'), 0);
      assert.equal(await g.metric('outerloop_gateway_active_generations'), 0);
      await g.completions.whenIdle();
      const logged = g.bus.published.at(-1)!.value;
      assert.equal(logged.finishReason, 'cancelled');
      assert.ok(logged.completionTokens < 1000);
      assert.equal(await g.metric('outerloop_gateway_cancelled_total{reason="client-disconnect"}'), 1);
    } finally {
      await g.close();
    }
  });

  it('the deadline cuts a long generation: finish_reason length, the slot is freed', async () => {
    const g = await startTestGateway({ options: { deadlineMs: 400 }, backend: { tokenDelayMs: 5, tokensPerAnswer: 10_000 } });
    try {
      const { res, json } = await post(g, { ...hello, max_tokens: 10_000 });
      assert.equal(res.status, 200);
      assert.equal(json.choices[0].finish_reason, 'length');
      assert.ok(json.usage.completion_tokens > 0 && json.usage.completion_tokens < 10_000);
      assert.equal(g.admission.activeSlots, 0);
    } finally {
      await g.close();
    }
  });

  it('a request whose deadline passes while it waits in the queue gets 503 with Retry-After', async () => {
    const g = await startTestGateway({ options: { maxConcurrent: 1, maxWaiting: 4, deadlineMs: 300 } });
    try {
      const holdTheOnlySlot = g.admission.tryAcquire(1)!;
      const starved = await post(g, hello);
      assert.equal(starved.res.status, 503);
      assert.equal(starved.res.headers.get('retry-after'), '1');
      assert.equal(starved.json.error.code, 'deadline_exceeded');
      assert.equal(g.admission.waiting, 0, 'the expired request left the queue');
      holdTheOnlySlot();
      assert.equal((await post(g, hello)).res.status, 200);
    } finally {
      await g.close();
    }
  });

  it('oversized bodies → 413 in OpenAI error shape', async () => {
    const g = await startTestGateway({ bodyLimit: 2000 });
    try {
      const { res, json } = await post(g, { ...hello, messages: [{ role: 'user', content: 'x'.repeat(5000) }] });
      assert.equal(res.status, 413);
      assert.equal(json.error.type, 'invalid_request_error');
      assert.equal(json.error.code, 'request_too_large');
    } finally {
      await g.close();
    }
  });
});

describe('API keys', () => {
  const keys = new MapKeyStore()
    .add('ol-chat', { id: 'key_chat', scopes: ['chat'], rateLimitPerMinute: 3, revoked: false })
    .add('ol-feedback', { id: 'key_fb', scopes: ['feedback'], rateLimitPerMinute: null, revoked: false })
    .add('ol-revoked', { id: 'key_old', scopes: ['chat'], rateLimitPerMinute: null, revoked: true });
  let g: TestGateway;
  before(async () => {
    g = await startTestGateway({ options: { auth: 'required' }, keys });
  });
  after(async () => g.close());

  it('401 without a key or with a wrong or revoked key', async () => {
    for (const h of [{}, { authorization: 'Bearer ol-nope' }, { authorization: 'Bearer ol-revoked' }] as Record<string, string>[]) {
      const { res, json } = await post(g, hello, h);
      assert.equal(res.status, 401);
      assert.equal(json.error.type, 'authentication_error');
    }
  });

  it('403 when the key lacks the chat scope', async () => {
    const { res, json } = await post(g, hello, { authorization: 'Bearer ol-feedback' });
    assert.equal(res.status, 403);
    assert.equal(json.error.type, 'permission_error');
  });

  it('per-key rate limit → 429 with Retry-After; the key id is on the logged completion', async () => {
    const ok = await post(g, hello, { authorization: 'Bearer ol-chat' });
    assert.equal(ok.res.status, 200);
    await post(g, hello, { authorization: 'Bearer ol-chat' });
    await post(g, hello, { authorization: 'Bearer ol-chat' });
    const limited = await post(g, hello, { authorization: 'Bearer ol-chat' });
    assert.equal(limited.res.status, 429);
    assert.ok(Number(limited.res.headers.get('retry-after')) >= 1);
    assert.equal(limited.json.error.code, 'rate_limit_exceeded');
    await g.completions.whenIdle();
    assert.equal(g.bus.published.find((p) => p.value.completionId === ok.json.id)!.value.apiKeyId, 'key_chat');
  });
});

describe('completion log when the bus is down', () => {
  it('chat keeps answering; completions are spooled and flushed in order when the bus returns', async () => {
    const g = await startTestGateway();
    try {
      g.bus.down = true;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { res, json } = await post(g, { ...hello, seed: i });
        assert.equal(res.status, 200);
        ids.push(json.id);
      }
      await eventually('five spooled', () => g.completions.spooled() === 5);
      assert.equal(await g.metric('outerloop_gateway_completion_spool_size'), 5);
      assert.equal(g.bus.published.length, 0);
      g.bus.down = false;
      await g.completions.whenIdle();
      assert.deepEqual(g.bus.published.map((p) => p.value.completionId), ids);
      assert.equal(await g.metric('outerloop_gateway_completion_spool_size'), 0);
    } finally {
      await g.close();
    }
  });
});
