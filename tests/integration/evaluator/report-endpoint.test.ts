// The evaluation report endpoints on the real gateway (SQLite, embedded bus, API keys
// required): an admin key reads the report and its charts; a chat key, no key, a bad id
// and a missing report get 403, 401, 400 and 404. The same wiring as
// `outerloop start --roles gateway` (the gateway role serves EvaluationReportsModule).
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/config.js';
import { LocalArtifactStore } from '../../../src/platform/artifacts/local-artifact-store.js';
import { Dependencies } from '../../../src/platform/health/dependencies.service.js';
import { configureLogging } from '../../../src/platform/logging/logger.js';
import { PlatformModule } from '../../../src/platform/platform.module.js';
import type { IApiKeyRepository } from '../../../src/platform/persistence/repositories/index.js';
import { API_KEY_REPOSITORY } from '../../../src/platform/tokens.js';
import { EvaluationReportsModule } from '../../../src/services/evaluator/evaluator.module.js';
import { createApiKey } from '../../../src/services/gateway/auth/api-keys.js';
import { GatewayModule } from '../../../src/services/gateway/gateway.module.js';
import { httpServerOptions } from '../../../src/services/gateway/http/server-options.js';
import { BASE_POLICY_DIR } from '../../unit/services/evaluator/damaged-policy.js';

const ID = 'eval-0123456789abcdef01234567';

describe('evaluation report endpoints (admin scope)', () => {
  let app: NestFastifyApplication;
  let dataDir: string;
  let base: string;
  let admin: string;
  let chat: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'outerloop-report-endpoint-'));
    const config = loadConfig({
      OUTERLOOP_MODE: 'embedded', OUTERLOOP_ROLES: 'gateway', OUTERLOOP_DATA_DIR: dataDir, OUTERLOOP_PORT: '0', OUTERLOOP_BASE_POLICY: BASE_POLICY_DIR,
      OUTERLOOP_GATEWAY_AUTH: 'required', OUTERLOOP_LOG_LEVEL: 'warn', OUTERLOOP_LOG_FORMAT: 'json',
    }, false);
    configureLogging(config.log);
    @Module({ imports: [PlatformModule.forRoot(config), GatewayModule, EvaluationReportsModule] })
    class Root {}
    app = await NestFactory.create<NestFastifyApplication>(Root, new FastifyAdapter(httpServerOptions({ deadlineMs: config.gateway.deadlineMs })), { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    await app.get(Dependencies).ready;
    base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    const keys = app.get<IApiKeyRepository>(API_KEY_REPOSITORY);
    admin = (await createApiKey(keys, { name: 'ops', scopes: 'admin' })).secret;
    chat = (await createApiKey(keys, { name: 'user', scopes: 'chat' })).secret;
    const store = new LocalArtifactStore(config.artifactDir);
    await store.put(`evaluations/${ID}/report.md`, '# Evaluation\n\n| default | **fail** |\n');
    await store.put(`evaluations/${ID}/charts/length-distribution.svg`, '<svg xmlns="http://www.w3.org/2000/svg"></svg>');
  });
  after(async () => {
    await app?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const get = (path: string, key?: string) => fetch(`${base}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });

  it('serves the report, the chart list and a chart to an admin key', async () => {
    const report = await get(`/v1/admin/evaluations/${ID}/report`, admin);
    assert.equal(report.status, 200);
    assert.match(report.headers.get('content-type') ?? '', /text\/markdown/);
    assert.match(await report.text(), /\*\*fail\*\*/);
    const list = await get(`/v1/admin/evaluations/${ID}/charts`, admin);
    assert.deepEqual(await list.json(), { charts: ['length-distribution'] });
    const chart = await get(`/v1/admin/evaluations/${ID}/charts/length-distribution.svg`, admin);
    assert.equal(chart.status, 200);
    assert.match(chart.headers.get('content-type') ?? '', /image\/svg\+xml/);
    assert.match(await chart.text(), /^<svg/);
  });

  it('refuses other scopes and no key, and answers 400 / 404 for a bad id and a missing report', async () => {
    assert.equal((await get(`/v1/admin/evaluations/${ID}/report`, chat)).status, 403);
    assert.equal((await get(`/v1/admin/evaluations/${ID}/report`)).status, 401);
    assert.equal((await get(`/v1/admin/evaluations/${ID}/charts/length-distribution.svg`)).status, 401);
    assert.equal((await get('/v1/admin/evaluations/not-an-id/report', admin)).status, 400);
    assert.equal((await get('/v1/admin/evaluations/eval-ffffffffffffffffffffffff/report', admin)).status, 404);
    assert.equal((await get(`/v1/admin/evaluations/${ID}/charts/gao-fit.svg`, admin)).status, 404);
  });
});
