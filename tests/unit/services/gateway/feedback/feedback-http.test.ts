// POST /v1/feedback over real HTTP on the real Nest modules (gateway + feedback),
// with the gateway's test doubles for the engine, key store and bus: a completion
// served by this process can be rated at once (recent index), ownership and scope
// are enforced per API key, errors have OpenAI's shape, and a bus outage is a 503
// with Retry-After — never a 202.
import 'reflect-metadata';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Global, Module, type Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { OuterloopConfig } from '../../../../../src/config/config.js';
import { configureLogging } from '../../../../../src/platform/logging/logger.js';
import { instrumentHttp } from '../../../../../src/platform/metrics/metrics.js';
import { CONFIG, EVENT_BUS, METRICS } from '../../../../../src/platform/tokens.js';
import { API_KEY_STORE, DEPLOYMENT_SOURCE, gatewayModuleMetadata, POLICY_LOADER } from '../../../../../src/services/gateway/gateway.module.js';
import { GATEWAY_OPTIONS, type GatewayOptions } from '../../../../../src/services/gateway/gateway.options.js';
import { StaticDeploymentSource } from '../../../../../src/services/gateway/routing/deployment-source.js';
import { ModelPool } from '../../../../../src/services/gateway/routing/model-pool.js';
import { COMPLETION_STORE, feedbackModuleMetadata } from '../../../../../src/services/gateway/feedback/feedback.module.js';
import { completionOwnerOf, type CompletionDirectory } from '../../../../../src/services/gateway/feedback/completion-directory.js';
import { httpServerOptions } from '../../../../../src/services/gateway/http/server-options.js';
import { FakeBackend } from '../support/fake-backend.js';
import { MemoryBus } from '../support/memory-bus.js';
import { MapKeyStore, ONE_VERSION } from '../support/test-gateway.js';

/** Completions "already ingested" (the table), as the store directory would see them. */
const stored = new Map<string, string | null>([['ingested-by-a', 'key-a']]);
const store: CompletionDirectory = {
  lookup: async (ids) =>
    new Map(ids.filter((id) => stored.has(id)).map((id) => [id, completionOwnerOf({ completionId: id, apiKeyId: stored.get(id)!, comparisonId: null, messages: [{ role: 'user', content: 'hi' }] })])),
};

describe('POST /v1/feedback (keys required, memory bus)', () => {
  let app: NestFastifyApplication;
  let url: string;
  let dataDir: string;
  const bus = new MemoryBus();

  before(async () => {
    configureLogging({ format: 'json', level: 'error' });
    dataDir = mkdtempSync(join(tmpdir(), 'outerloop-feedback-http-'));
    const keys = new MapKeyStore()
      .add('sk-a', { id: 'key-a', scopes: ['chat', 'feedback'], rateLimitPerMinute: null, revoked: false })
      .add('sk-b', { id: 'key-b', scopes: ['chat', 'feedback'], rateLimitPerMinute: null, revoked: false })
      .add('sk-chat', { id: 'key-chat', scopes: ['chat'], rateLimitPerMinute: null, revoked: false });
    const options: GatewayOptions = {
      auth: 'required', loopbackHostsOnly: false, maxConcurrent: 4, maxWaiting: 8, deadlineMs: 30_000, defaultMaxTokens: 16,
      spoolPath: join(dataDir, 'spool.sqlite'), spoolMax: 1000, defaultRateLimitPerMinute: 0, retryAfterSeconds: 1,
    };
    const config = { mode: 'embedded', dataDir, http: { host: '127.0.0.1', port: 0 } } as unknown as OuterloopConfig;
    const backends: FakeBackend[] = [];

    @Global()
    @Module({
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: METRICS, useValue: new Registry() },
        { provide: EVENT_BUS, useValue: bus },
      ],
      exports: [CONFIG, METRICS, EVENT_BUS],
    })
    class TestPlatform {}

    const gatewayInfra: Provider[] = [
      { provide: POLICY_LOADER, useValue: FakeBackend.loader(backends) },
      { provide: DEPLOYMENT_SOURCE, useValue: new StaticDeploymentSource(ONE_VERSION) },
      { provide: API_KEY_STORE, useValue: keys },
      { provide: GATEWAY_OPTIONS, useValue: options },
    ];
    @Module({ imports: [TestPlatform], ...gatewayModuleMetadata(gatewayInfra) })
    class TestGatewayModule {}
    @Module(feedbackModuleMetadata(TestGatewayModule, [{ provide: COMPLETION_STORE, useValue: store }]))
    class TestFeedbackModule {}
    @Module({ imports: [TestPlatform, TestGatewayModule, TestFeedbackModule] })
    class TestApp {}

    app = await NestFactory.create<NestFastifyApplication>(TestApp, new FastifyAdapter(httpServerOptions({ deadlineMs: options.deadlineMs })), { logger: false, abortOnError: false });
    instrumentHttp(app.getHttpAdapter().getInstance(), app.get<Registry>(METRICS)); // as main.ts does
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    const pool = app.get(ModelPool);
    for (let i = 0; i < 200 && !pool.isReady(); i++) await new Promise((r) => setTimeout(r, 5));
  });
  after(async () => {
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function post(path: string, key: string | null, body: unknown) {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, json: (await res.json()) as any };
  }

  async function chat(key: string): Promise<string> {
    const r = await post('/v1/chat/completions', key, { model: 'outerloop', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json.outerloop.completion_id as string;
  }

  it('feedback right after the chat is accepted (202) and on the bus with the caller key', async () => {
    const completionId = await chat('sk-a');
    const r = await post('/v1/feedback', 'sk-a', { completion_id: completionId, type: 'thumbs', value: 'up', comment: 'good', event_id: 'client-1' });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.equal(r.json.event_ids.length, 1);
    const event = bus.published.find((p) => p.topic === 'outerloop.feedback' && p.value.eventId === r.json.event_ids[0]);
    assert.ok(event, 'published before the 202');
    assert.equal(event.key, completionId);
    assert.equal(event.value.apiKeyId, 'key-a');
    assert.equal(event.value.value, 1);
    // the same client event id maps to the same server id
    const again = await post('/v1/feedback', 'sk-a', { completion_id: completionId, type: 'thumbs', value: 'up', event_id: 'client-1' });
    assert.deepEqual(again.json.event_ids, r.json.event_ids);
  });

  it('a completion only in the store (ingested earlier) is found; unknown → 404; another key → 403; no feedback scope → 403', async () => {
    assert.equal((await post('/v1/feedback', 'sk-a', { completion_id: 'ingested-by-a', type: 'rating', value: 4 })).status, 202);
    const unknown = await post('/v1/feedback', 'sk-a', { completion_id: 'nope', type: 'rating', value: 4 });
    assert.equal(unknown.status, 404);
    assert.deepEqual([unknown.json.error.type, unknown.json.error.param, unknown.json.error.code], ['not_found_error', 'completion_id', 'completion_not_found']);
    const other = await post('/v1/feedback', 'sk-b', { completion_id: 'ingested-by-a', type: 'rating', value: 4 });
    assert.equal(other.status, 403);
    assert.equal(other.json.error.code, 'completion_not_owned');
    const scope = await post('/v1/feedback', 'sk-chat', { completion_id: 'ingested-by-a', type: 'rating', value: 4 });
    assert.equal(scope.status, 403);
    assert.equal(scope.json.error.code, 'insufficient_scope');
    assert.equal((await post('/v1/feedback', null, { completion_id: 'ingested-by-a', type: 'rating', value: 4 })).status, 401);
  });

  it('an invalid body is a 400 in OpenAI shape naming the field (one convention with chat)', async () => {
    const r = await post('/v1/feedback/batch', 'sk-a', { events: [{ completion_id: 'ingested-by-a', type: 'rating', value: 4 }, { completion_id: 'ingested-by-a', type: 'rating', value: 0 }] });
    assert.equal(r.status, 400);
    assert.deepEqual(Object.keys(r.json.error).sort(), ['code', 'message', 'param', 'type']);
    assert.equal(r.json.error.param, 'events[1].value');
    assert.equal(r.json.error.type, 'invalid_request_error');
  });

  it('a body the parser refuses (malformed JSON, not JSON) is a 4xx in OpenAI shape, and the route shows in the HTTP metrics', async () => {
    const raw = async (body: string, contentType: string) => {
      const res = await fetch(`${url}/v1/feedback`, { method: 'POST', headers: { 'content-type': contentType, authorization: 'Bearer sk-a' }, body });
      return { status: res.status, json: (await res.json()) as any };
    };
    const malformed = await raw('{"completion_id": "ingested-by-a", "type": ', 'application/json');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.error.type, 'invalid_request_error');
    assert.deepEqual(Object.keys(malformed.json.error).sort(), ['code', 'message', 'param', 'type']);
    assert.equal(malformed.json.error.code, 'invalid_json', 'the same stable code as chat, not a framework code');
    const xml = await raw('<thumbs>up</thumbs>', 'application/xml');
    assert.equal(xml.status, 415);
    assert.equal(xml.json.error.type, 'invalid_request_error');
    const text = await raw('thumbs up', 'text/plain');
    assert.equal(text.status, 400);
    assert.equal(text.json.error.param, '(body)');
    const metrics = await (app.get(METRICS) as Registry).getSingleMetricAsString('outerloop_http_request_duration_seconds');
    assert.match(metrics, /route="\/v1\/feedback",status="202"/);
    assert.match(metrics, /route="\/v1\/feedback\/batch",status="400"/);
  });

  it('bus down → 503 with Retry-After and nothing acknowledged; back up → 202', async () => {
    const before = bus.published.length;
    bus.down = true;
    try {
      const r = await post('/v1/feedback/batch', 'sk-a', { events: [{ completion_id: 'ingested-by-a', type: 'thumbs', value: 'down' }] });
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('retry-after'), '1');
      assert.equal(r.json.error.code, 'feedback_bus_unavailable');
    } finally {
      bus.down = false;
    }
    assert.equal(bus.published.length, before);
    const ok = await post('/v1/feedback/batch', 'sk-a', { events: [{ completion_id: 'ingested-by-a', type: 'thumbs', value: 'down' }, { completion_id: 'ingested-by-a', type: 'edit', edited_response: 'better' }] });
    assert.equal(ok.status, 202);
    assert.equal(ok.json.event_ids.length, 2);
  });
});
