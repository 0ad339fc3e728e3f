// The jobs and reward-model admin API over real HTTP against the real app
// (AppModule.forRoles, as `outerloop start --roles gateway` builds it: Fastify, the
// gateway's hooks for auth and scope, the error filter, SQLite, the embedded bus) with
// keys required. An admin key enqueues a reward_model job, reads it and cancels it
// (no trainer role runs, so the job stays queued until cancelled); a chat-scoped key gets
// 403 and no key 401 on every route; a malformed body is a 400 naming the field; an
// unknown id is a 404; ?kind=reward lists reward models, judges marked.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../../../src/config/config.js';
import { Dependencies } from '../../../src/platform/health/dependencies.service.js';
import { configureLogging } from '../../../src/platform/logging/logger.js';
import { createRepositories, type Repositories } from '../../../src/platform/persistence/repositories/index.js';
import { DATA_SOURCE } from '../../../src/platform/tokens.js';
import { AppModule } from '../../../src/services/app.module.js';
import { createApiKey } from '../../../src/services/gateway/auth/api-keys.js';
import { httpServerOptions } from '../../../src/services/gateway/http/server-options.js';
import { tinyPolicyArtifact } from './support.js';

const SNAPSHOT = 'a'.repeat(64);

describe('admin jobs and models API over HTTP (the real app, keys required)', () => {
  let app: NestFastifyApplication;
  let dataDir: string;
  let url: string;
  let repos: Repositories;
  let dataSource: DataSource;
  let admin: string;
  let chatOnly: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'outerloop-admin-http-'));
    const config = loadConfig({
      OUTERLOOP_MODE: 'embedded', OUTERLOOP_ROLES: 'gateway', OUTERLOOP_DATA_DIR: dataDir, OUTERLOOP_PORT: '0',
      OUTERLOOP_BASE_POLICY: await tinyPolicyArtifact(3), OUTERLOOP_GATEWAY_AUTH: 'required', OUTERLOOP_LOG_LEVEL: 'warn', OUTERLOOP_LOG_FORMAT: 'json',
    }, false);
    configureLogging(config.log);
    app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoles(config), new FastifyAdapter(httpServerOptions({ deadlineMs: config.gateway.deadlineMs })), { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    await app.get(Dependencies).ready; // the database is connected and migrated
    dataSource = app.get<DataSource>(DATA_SOURCE);
    repos = createRepositories(dataSource);
    admin = (await createApiKey(repos.apiKeys, { name: 'operator', scopes: 'admin' })).secret;
    chatOnly = (await createApiKey(repos.apiKeys, { name: 'app', scopes: 'chat,feedback' })).secret;
    const sha = (c: string) => c.repeat(64);
    await repos.modelRegistry.register({ id: 'policy-p', kind: 'policy', artifactPath: 'models/policy/p', sha256: sha('0') });
    await repos.modelRegistry.register({ id: 'reward-r', kind: 'reward', artifactPath: 'models/reward/r', sha256: sha('1'), parentId: 'policy-p', metrics: { heldOutAccuracy: 0.8 } });
    await repos.modelRegistry.register({ id: 'reward-judge', kind: 'reward', artifactPath: 'models/reward/j', sha256: sha('2'), parentId: 'policy-p', metrics: { judge: true, split: 'heldout' } });
    await repos.modelRegistry.register({ id: 'reward-x', kind: 'reward', artifactPath: 'models/reward/x', sha256: sha('3'), parentId: 'policy-p' });
    await repos.modelRegistry.transition('reward-x', 'rejected');
  });
  after(async () => {
    await app?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function call(method: 'GET' | 'POST', path: string, opts: { key?: string | null; body?: unknown; raw?: string } = {}) {
    const headers: Record<string, string> = {};
    const key = opts.key === undefined ? admin : opts.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    let body: string | undefined;
    if (opts.raw !== undefined || opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = opts.raw ?? JSON.stringify(opts.body);
    }
    const res = await fetch(url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null, text };
  }

  /** the error's text, whatever shape the route answers with */
  const errorText = (json: unknown): string => JSON.stringify(json);

  it('an admin key enqueues a reward_model job (defaults applied), reads it, cancels it; the same idempotency key gets the same job', async () => {
    const created = await call('POST', '/v1/admin/jobs', { body: { kind: 'reward_model', params: { snapshotId: SNAPSHOT, split: 'heldout', ensemble: 2 }, idempotencyKey: 'judge-1' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.created, true);
    const job = created.json.job;
    assert.equal(job.kind, 'reward_model');
    assert.equal(job.state, 'queued');
    assert.deepEqual(job.params, { snapshotId: SNAPSHOT, split: 'heldout', ensemble: 2, seed: 0, epochs: 1, margin: false, centering: 0 });

    const again = await call('POST', '/v1/admin/jobs', { body: { kind: 'reward_model', params: { snapshotId: SNAPSHOT, split: 'heldout', ensemble: 2 }, idempotencyKey: 'judge-1' } });
    assert.equal(again.status, 201, again.text);
    assert.equal(again.json.created, false);
    assert.equal(again.json.job.id, job.id);

    const shown = await call('GET', `/v1/admin/jobs/${job.id}`);
    assert.equal(shown.status, 200, shown.text);
    assert.equal(shown.json.id, job.id);
    assert.equal(shown.json.state, 'queued');

    const cancelled = await call('POST', `/v1/admin/jobs/${job.id}/cancel`);
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal(cancelled.json.state, 'cancelled');
    assert.equal((await call('GET', `/v1/admin/jobs/${job.id}`)).json.state, 'cancelled', 'the row says so');
  });

  it('a malformed body is a 400 naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ kind: 'reward_model', params: { snapshotId: SNAPSHOT, split: 'test' } }, /params\.split/],
      [{ kind: 'reward_model', params: { snapshotId: SNAPSHOT, ensembel: 3 } }, /ensembel/],
      [{ kind: 'reward_model', params: { snapshotId: SNAPSHOT, seed: -1 } }, /params\.seed/],
      [{ kind: 'reward_model', params: {} }, /params\.snapshotId/],
      [{ kind: 'sft', params: {} }, /kind/],
      [{ params: { snapshotId: SNAPSHOT } }, /kind/],
      [{ kind: 'reward_model', params: { snapshotId: SNAPSHOT }, maxAttempts: 'three' }, /maxAttempts/],
      [{ kind: 'reward_model', params: { snapshotId: SNAPSHOT }, idempotencyKey: 7 }, /idempotencyKey/],
    ];
    for (const [body, field] of cases) {
      const r = await call('POST', '/v1/admin/jobs', { body });
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${r.text}`);
      assert.match(errorText(r.json), field, JSON.stringify(body));
    }
    const notJson = await call('POST', '/v1/admin/jobs', { raw: '{"kind": "reward_model",' });
    assert.equal(notJson.status, 400, notJson.text);
  });

  it('an unknown job id is a 404 on read and on cancel', async () => {
    for (const [method, path] of [['GET', '/v1/admin/jobs/no-such-job'], ['POST', '/v1/admin/jobs/no-such-job/cancel']] as const) {
      const r = await call(method, path);
      assert.equal(r.status, 404, `${method} ${path}: ${r.text}`);
      assert.match(errorText(r.json), /no-such-job/);
    }
  });

  it('GET /v1/admin/models?kind=reward lists every reward model (all statuses, judges marked); another kind is a 400', async () => {
    const r = await call('GET', '/v1/admin/models?kind=reward');
    assert.equal(r.status, 200, r.text);
    const rows = r.json.data as { id: string; kind: string; status: string; metrics: Record<string, unknown> }[];
    assert.deepEqual(rows.map((v) => [v.id, v.status]).sort(), [['reward-judge', 'candidate'], ['reward-r', 'candidate'], ['reward-x', 'rejected']]);
    assert.ok(rows.every((v) => v.kind === 'reward'));
    assert.deepEqual(rows.filter((v) => v.metrics.judge === true).map((v) => v.id), ['reward-judge']);
    const bad = await call('GET', '/v1/admin/models?kind=critic');
    assert.equal(bad.status, 400, bad.text);
    assert.match(errorText(bad.json), /kind/);
  });

  it('admin scope is enforced: no key → 401, a chat/feedback key → 403, on every route', async () => {
    const routes: ['GET' | 'POST', string, unknown?][] = [
      ['POST', '/v1/admin/jobs', { kind: 'reward_model', params: { snapshotId: SNAPSHOT } }],
      ['GET', '/v1/admin/jobs/some-job'],
      ['POST', '/v1/admin/jobs/some-job/cancel'],
      ['GET', '/v1/admin/models?kind=reward'],
    ];
    const jobRows = async () => Number(((await dataSource.query('SELECT COUNT(*) AS n FROM jobs')) as { n: number | string }[])[0]!.n);
    const jobsBefore = await jobRows();
    for (const [method, path, body] of routes) {
      const anonymous = await call(method, path, { key: null, ...(body ? { body } : {}) });
      assert.equal(anonymous.status, 401, `${method} ${path} without a key: ${anonymous.text}`);
      const wrongKey = await call(method, path, { key: 'ol-not-a-key', ...(body ? { body } : {}) });
      assert.equal(wrongKey.status, 401, `${method} ${path} with an unknown key: ${wrongKey.text}`);
      const chat = await call(method, path, { key: chatOnly, ...(body ? { body } : {}) });
      assert.equal(chat.status, 403, `${method} ${path} with a chat key: ${chat.text}`);
    }
    assert.equal(await jobRows(), jobsBefore, 'a refused request enqueued nothing');
  });
});
