// Boots the real GatewayModule (controllers, services, filters) on Fastify with
// doubles for what touches the world: the engine loader (FakeBackend), the
// registry (a static deployment), the key store and the event bus.
import 'reflect-metadata';
import { Global, Module, type Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { OuterloopConfig } from '../../../../../src/config/config.js';
import { configureLogging } from '../../../../../src/platform/logging/logger.js';
import { CONFIG, EVENT_BUS, METRICS } from '../../../../../src/platform/tokens.js';
import type { EventBus } from '../../../../../src/platform/messaging/event-bus.js';
import { hashApiKeySecret, type ApiKeyRecord, type ApiKeyStore } from '../../../../../src/services/gateway/auth/api-keys.js';
import { CompletionLog } from '../../../../../src/services/gateway/completion-log/completion-log.js';
import { API_KEY_STORE, DEPLOYMENT_SOURCE, gatewayModuleMetadata, POLICY_LOADER } from '../../../../../src/services/gateway/gateway.module.js';
import { GATEWAY_OPTIONS, type GatewayOptions } from '../../../../../src/services/gateway/gateway.options.js';
import { AdmissionQueue } from '../../../../../src/services/gateway/admission/admission-queue.js';
import { ModelPool } from '../../../../../src/services/gateway/routing/model-pool.js';
import { StaticDeploymentSource, type ResolvedDeployment } from '../../../../../src/services/gateway/routing/deployment-source.js';
import { DeploymentWatcher } from '../../../../../src/services/gateway/routing/deployment-watcher.js';
import { httpServerOptions, type HttpServerLimits } from '../../../../../src/services/gateway/http/server-options.js';
import { FakeBackend, type FakeBackendOptions } from './fake-backend.js';
import { MemoryBus } from './memory-bus.js';

export class MapKeyStore implements ApiKeyStore {
  readonly keys = new Map<string, ApiKeyRecord>();
  add(secret: string, record: ApiKeyRecord): this {
    this.keys.set(hashApiKeySecret(secret), record);
    return this;
  }
  async findByHash(h: string): Promise<ApiKeyRecord | null> {
    return this.keys.get(h) ?? null;
  }
}

export interface TestGateway {
  app: NestFastifyApplication;
  url: string;
  bus: MemoryBus;
  registry: Registry;
  backends: FakeBackend[];
  deployments: StaticDeploymentSource;
  pool: ModelPool;
  admission: AdmissionQueue;
  completions: CompletionLog;
  watcher: DeploymentWatcher;
  dataDir: string;
  metric(name: string): Promise<number>;
  close(): Promise<void>;
}

export const ONE_VERSION: ResolvedDeployment = {
  spec: { id: 'd1', production: 'v1', canary: null, shadow: null },
  sources: [{ version: 'v1', artifactDir: 'v1' }],
};

export async function startTestGateway(o: {
  options?: Partial<GatewayOptions>;
  deployment?: ResolvedDeployment;
  keys?: MapKeyStore;
  bus?: MemoryBus;
  /** a real bus (integration tests); replaces the MemoryBus */
  realBus?: EventBus;
  bodyLimit?: number;
  /** the HTTP server's timeouts (the production defaults otherwise) */
  http?: Partial<HttpServerLimits>;
  backend?: FakeBackendOptions;
  dataDir?: string;
} = {}): Promise<TestGateway> {
  configureLogging({ format: 'json', level: 'error' });
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'outerloop-gw-'));
  const registry = new Registry();
  const bus = o.bus ?? new MemoryBus();
  const backends: FakeBackend[] = [];
  const deployments = new StaticDeploymentSource(o.deployment ?? ONE_VERSION);
  const options: GatewayOptions = {
    auth: 'open',
    loopbackHostsOnly: false,
    maxConcurrent: 8,
    maxWaiting: 16,
    deadlineMs: 30_000,
    defaultMaxTokens: 64,
    spoolPath: join(dataDir, 'gateway', 'completion-spool.sqlite'),
    spoolMax: 10_000,
    defaultRateLimitPerMinute: 0,
    retryAfterSeconds: 1,
    ...o.options,
  };
  const config = { mode: 'embedded', dataDir, http: { host: '127.0.0.1', port: 0 } } as unknown as OuterloopConfig;

  @Global()
  @Module({
    providers: [
      { provide: CONFIG, useValue: config },
      { provide: METRICS, useValue: registry },
      { provide: EVENT_BUS, useValue: o.realBus ?? bus },
    ],
    exports: [CONFIG, METRICS, EVENT_BUS],
  })
  class TestPlatform {}

  const infra: Provider[] = [
    { provide: POLICY_LOADER, useValue: FakeBackend.loader(backends, o.backend) },
    { provide: DEPLOYMENT_SOURCE, useValue: deployments },
    { provide: API_KEY_STORE, useValue: o.keys ?? new MapKeyStore() },
    { provide: GATEWAY_OPTIONS, useValue: options },
  ];
  @Module({ imports: [TestPlatform], ...gatewayModuleMetadata(infra) })
  class TestGatewayModule {}

  const app = await NestFactory.create<NestFastifyApplication>(TestGatewayModule, new FastifyAdapter(httpServerOptions({ deadlineMs: options.deadlineMs, bodyLimit: o.bodyLimit ?? 1024 * 1024, ...o.http })), {
    logger: false,
    abortOnError: false,
  });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const pool = app.get(ModelPool);
  const watcher = app.get(DeploymentWatcher);
  // wait for the first deployment to be served
  for (let i = 0; i < 200 && !pool.isReady(); i++) await new Promise((r) => setTimeout(r, 5));
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    bus,
    registry,
    backends,
    deployments,
    pool,
    admission: app.get(AdmissionQueue),
    completions: app.get(CompletionLog),
    watcher,
    dataDir,
    async metric(name: string) {
      const [base, labelText] = name.split('{');
      const m = await registry.getSingleMetricAsString(base!);
      const want = labelText ? labelText.slice(0, -1) : null;
      let total = 0;
      for (const line of m.split('\n')) {
        if (!line.startsWith(base!) || line.startsWith('#')) continue;
        if (want && !want.split(',').every((kv) => line.includes(kv))) continue;
        if (line.startsWith(`${base!}_bucket`)) continue;
        total += Number(line.split(' ').pop());
      }
      return total;
    },
    async close() {
      await app.close();
      if (!o.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Parse an SSE body into its JSON data events (and whether [DONE] arrived). */
export function parseSse(body: string): { events: any[]; done: boolean } {
  const events: any[] = [];
  let done = false;
  for (const block of body.split('\n\n')) {
    const line = block.trim();
    if (!line.startsWith('data: ')) continue;
    const data = line.slice(6);
    if (data === '[DONE]') done = true;
    else events.push(JSON.parse(data));
  }
  return { events, done };
}
