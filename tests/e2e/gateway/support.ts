// Starts the real platform (SQLite, embedded bus, migrations, artifact store) and
// the gateway module on Fastify, in embedded mode with a temp data dir, serving
// either the shipped base policy or a tiny random-weight artifact. The same
// wiring as `outerloop start --roles gateway` (src/main.ts startServer).
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DataSource } from 'typeorm';
import { loadConfig, type OuterloopConfig } from '../../../src/config/config.js';
import { writeArtifact } from '../../../src/engine/artifact/artifact.js';
import { exportInferenceGraphs } from '../../../src/engine/gpt/inference-graphs.js';
import { Dependencies } from '../../../src/platform/health/dependencies.service.js';
import { configureLogging } from '../../../src/platform/logging/logger.js';
import type { EventBus } from '../../../src/platform/messaging/event-bus.js';
import { PlatformModule } from '../../../src/platform/platform.module.js';
import { DATA_SOURCE, EVENT_BUS } from '../../../src/platform/tokens.js';
import { GatewayModule } from '../../../src/services/gateway/gateway.module.js';
import { httpServerOptions } from '../../../src/services/gateway/http/server-options.js';
import { ModelPool } from '../../../src/services/gateway/routing/model-pool.js';
import { randomParameters, tinyConfig, tinyTokenizer } from '../../unit/engine/runtime/fixture.js';

export const SHIPPED_BASE_POLICY = resolve('models/base-policy');

/** A tiny random-weight policy artifact (fast to load; gibberish but deterministic text). */
export async function tinyPolicyArtifact(seed: number, maxSeqLen = 256, size: { channels?: number; layers?: number } = {}): Promise<string> {
  const tokenizer = tinyTokenizer();
  const config = { ...tinyConfig(tokenizer, maxSeqLen), ...size };
  const dir = join(await mkdtemp(join(tmpdir(), 'outerloop-policy-')), 'artifact');
  await writeArtifact(dir, { config, params: randomParameters(config, seed), tokenizer, meta: { kind: 'policy' } }, exportInferenceGraphs);
  return dir;
}

export interface RunningGateway {
  app: NestFastifyApplication;
  baseURL: string;
  config: OuterloopConfig;
  dataSource: DataSource;
  bus: EventBus;
  pool: ModelPool;
  close(): Promise<void>;
}

export async function startGateway(opts: { basePolicy?: string; env?: Record<string, string> } = {}): Promise<RunningGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'outerloop-e2e-'));
  const basePolicy = opts.basePolicy ?? (existsSync(join(SHIPPED_BASE_POLICY, 'manifest.json')) ? SHIPPED_BASE_POLICY : await tinyPolicyArtifact(1));
  const env = {
    OUTERLOOP_MODE: 'embedded',
    OUTERLOOP_ROLES: 'gateway',
    OUTERLOOP_DATA_DIR: dataDir,
    OUTERLOOP_PORT: '0',
    OUTERLOOP_BASE_POLICY: basePolicy,
    OUTERLOOP_LOG_LEVEL: process.env.OUTERLOOP_LOG_LEVEL ?? 'warn',
    OUTERLOOP_LOG_FORMAT: 'json',
    ...opts.env,
  };
  for (const [k, v] of Object.entries(opts.env ?? {})) process.env[k] = v; // gateway options are read from the environment
  const config = loadConfig(env, false);
  configureLogging(config.log);

  @Module({ imports: [PlatformModule.forRoot(config), GatewayModule] })
  class E2eRoot {}

  const app = await NestFactory.create<NestFastifyApplication>(E2eRoot, new FastifyAdapter(httpServerOptions({ deadlineMs: config.gateway.deadlineMs })), { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as { port: number }).port;
  await app.get(Dependencies).ready;
  const pool = app.get(ModelPool);
  const t0 = Date.now();
  while (!pool.isReady()) {
    if (Date.now() - t0 > 60_000) throw new Error('gateway did not load a model within 60 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    app,
    baseURL: `http://127.0.0.1:${port}/v1`,
    config,
    dataSource: app.get<DataSource>(DATA_SOURCE),
    bus: app.get<EventBus>(EVENT_BUS),
    pool,
    async close() {
      await app.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
