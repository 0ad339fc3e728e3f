// The gateway role: OpenAI-compatible chat, model listing, routing between
// deployed versions, the completion log and API keys. Infrastructure-facing
// providers (engine loader, registry, key store) sit behind tokens so the unit
// tests run the same module with doubles (gatewayModuleMetadata(testInfra)).
import { Inject, Injectable, Module, Optional, type ModuleMetadata, type OnApplicationBootstrap, type OnApplicationShutdown, type Provider, type Type } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { Registry } from 'prom-client';
import type { OuterloopConfig } from '../../config/config.js';
import type { ArtifactStore } from '../../platform/artifacts/artifact-store.js';
import { Dependencies } from '../../platform/health/dependencies.service.js';
import { Logger } from '../../platform/logging/logger.js';
import type { EventBus } from '../../platform/messaging/event-bus.js';
import type { IApiKeyRepository, IDeploymentRepository, IModelRegistryRepository, ITransactionRunner } from '../../platform/persistence/repositories/index.js';
import { API_KEY_REPOSITORY, ARTIFACT_STORE, CONFIG, DEPLOYMENT_REPOSITORY, EVENT_BUS, METRICS, MODEL_REGISTRY_REPOSITORY, TRANSACTION_RUNNER } from '../../platform/tokens.js';
import { AdmissionQueue } from './admission/admission-queue.js';
import { CachedApiKeyStore, RepositoryApiKeyStore, type ApiKeyStore } from './auth/api-keys.js';
import { AuthService } from './auth/auth.service.js';
import { TokenBucketLimiter } from './auth/rate-limiter.js';
import { ChatController } from './chat/chat.controller.js';
import { ChatService, type ServiceSettings } from './chat/chat.service.js';
import { CompletionLog } from './completion-log/completion-log.js';
import { CompletionSpool } from '../../platform/spool/completion-spool.js';
import { loadBestOfNRanker } from './best-of-n/best-of-n-ranker.js';
import { BestOfNMetrics, BestOfNMode } from './best-of-n/best-of-n-mode.js';
import { batchEngineLoader } from './engine/batch-engine-loader.js';
import type { PolicyLoader } from './engine/policy-backend.js';
import { GATEWAY_OPTIONS, gatewayOptionsFrom, type GatewayOptions } from './gateway.options.js';
import { GatewayHooks } from './http/gateway-hooks.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { RegistryDeploymentSource, type DeploymentSource } from './routing/deployment-source.js';
import { DeploymentWatcher } from './routing/deployment-watcher.js';
import { ModelPool } from './routing/model-pool.js';
import { OpenApiController } from './openapi/openapi.controller.js';
import { OpenAIErrorFilter } from './openai-error.filter.js';
import { roleHeartbeatProvider } from '../role-heartbeat.js';
import { ModelsController } from './admin/models.controller.js';

export const POLICY_LOADER = Symbol('POLICY_LOADER');
export const DEPLOYMENT_SOURCE = Symbol('DEPLOYMENT_SOURCE');
export const API_KEY_STORE = Symbol('API_KEY_STORE');
/** the best-of-n mode (OUTERLOOP_GATEWAY_BEST_OF_N), or null; optional, so test modules may leave it out */
export const BEST_OF_N_MODE = Symbol('BEST_OF_N_MODE');
const CHAT_SETTINGS = Symbol('CHAT_SETTINGS');

const log = new Logger('gateway');

/** Starts routing at bootstrap, stops it and flushes the completion log at shutdown. */
@Injectable()
export class GatewayLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(DeploymentWatcher) private readonly watcher: DeploymentWatcher,
    @Inject(ModelPool) private readonly pool: ModelPool,
    @Inject(CompletionLog) private readonly completions: CompletionLog,
    @Inject(GATEWAY_OPTIONS) private readonly options: GatewayOptions,
    @Inject(ChatService) private readonly chat: ChatService,
    @Inject(METRICS) private readonly registry: Registry,
    @Optional() @Inject(BEST_OF_N_MODE) private readonly bestOfN: BestOfNMode | null,
  ) {}

  onApplicationBootstrap(): void {
    if (this.options.auth === 'open') {
      log.warn('gateway runs OPEN: requests without an API key are accepted (embedded mode on a loopback host; set OUTERLOOP_GATEWAY_AUTH=required to enforce keys)');
    } else {
      log.info('gateway requires API keys (Authorization: Bearer <key>)');
    }
    // Engine gauges are read at scrape time rather than on every token.
    const refresh = this.registry.getSingleMetric('outerloop_gateway_engine_batch_size') as { collect?: unknown } | undefined;
    if (refresh) (refresh as { collect?: () => void }).collect = () => this.chat.refreshEngineGauges();
    // Not awaited: the HTTP server comes up at once and answers 503 model_loading until a model is in.
    void this.watcher.start().catch((err) => log.error('deployment watcher failed to start', err));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.watcher.stop();
    await this.completions.close();
    await this.pool.close();
    await this.bestOfN?.close();
  }
}

/** Providers that touch the world (ORT, the database); tests replace these. */
export const GATEWAY_INFRASTRUCTURE: Provider[] = [
  {
    provide: POLICY_LOADER,
    useFactory: (config: OuterloopConfig, options: GatewayOptions): PolicyLoader =>
      batchEngineLoader({ maxBatch: options.maxConcurrent, intraOpThreads: config.intraOpThreads }),
    inject: [CONFIG, GATEWAY_OPTIONS],
  },
  {
    provide: DEPLOYMENT_SOURCE,
    useFactory: (
      config: OuterloopConfig,
      registry: IModelRegistryRepository,
      deployments: IDeploymentRepository,
      transactions: ITransactionRunner,
      artifacts: ArtifactStore,
      deps: Dependencies,
    ): DeploymentSource => new RegistryDeploymentSource({ registry, deployments, transactions }, artifacts, config.basePolicy, () => deps.ready),
    inject: [CONFIG, MODEL_REGISTRY_REPOSITORY, DEPLOYMENT_REPOSITORY, TRANSACTION_RUNNER, ARTIFACT_STORE, Dependencies],
  },
  {
    provide: BEST_OF_N_MODE,
    useFactory: (config: OuterloopConfig, registry: IModelRegistryRepository, artifacts: ArtifactStore, metrics: Registry, deps: Dependencies): BestOfNMode | null => {
      const settings = config.gateway.bestOfN;
      if (!settings) return null;
      const mode = new BestOfNMode(settings.n, () => loadBestOfNRanker(settings, registry, artifacts, config.intraOpThreads > 0 ? { intraOpThreads: config.intraOpThreads } : {}), new BestOfNMetrics(metrics));
      deps.registerCheck('gateway.best_of_n', () => mode.health());
      log.info('best-of-n serving', { n: settings.n, rewardModelVersion: settings.rewardModelVersion, klBoundNats: Math.log(settings.n) - (settings.n - 1) / settings.n });
      mode.warmUp();
      return mode;
    },
    inject: [CONFIG, MODEL_REGISTRY_REPOSITORY, ARTIFACT_STORE, METRICS, Dependencies],
  },
  {
    provide: API_KEY_STORE,
    useFactory: (keys: IApiKeyRepository): ApiKeyStore => new CachedApiKeyStore(new RepositoryApiKeyStore(keys)),
    inject: [API_KEY_REPOSITORY],
  },
];

/** Providers with no direct I/O besides the spool file and the bus port. */
export const GATEWAY_CORE: Provider[] = [
  { provide: GATEWAY_OPTIONS, useFactory: (config: OuterloopConfig) => gatewayOptionsFrom(config), inject: [CONFIG] },
  { provide: GatewayMetrics, useFactory: (registry: Registry) => new GatewayMetrics(registry), inject: [METRICS] },
  {
    provide: AdmissionQueue,
    useFactory: (o: GatewayOptions) => new AdmissionQueue({ maxConcurrent: o.maxConcurrent, maxWaiting: o.maxWaiting, retryAfterSeconds: o.retryAfterSeconds }),
    inject: [GATEWAY_OPTIONS],
  },
  {
    provide: CompletionLog,
    useFactory: (bus: EventBus, o: GatewayOptions, m: GatewayMetrics) =>
      new CompletionLog(bus, new CompletionSpool(o.spoolPath, o.spoolMax), {
        onPublished: (n) => m.completionsPublished.inc(n),
        onSpooled: (n) => m.completionsSpooled.inc(n),
        onDropped: (n) => m.spoolDropped.inc(n),
        onSpoolSize: (n) => m.spoolSize.set(n),
      }),
    inject: [EVENT_BUS, GATEWAY_OPTIONS, GatewayMetrics],
  },
  {
    provide: AuthService,
    useFactory: (store: ApiKeyStore, o: GatewayOptions) =>
      new AuthService(store, new TokenBucketLimiter(), { mode: o.auth, defaultRateLimitPerMinute: o.defaultRateLimitPerMinute }),
    inject: [API_KEY_STORE, GATEWAY_OPTIONS],
  },
  {
    provide: ModelPool,
    useFactory: (loader: PolicyLoader, deps: Dependencies | undefined) => {
      const poolLog = new Logger('gateway.models');
      const pool = new ModelPool(loader, (msg, fields, level) => (level === 'error' ? poolLog.error(msg, undefined, fields) : poolLog.info(msg, fields)));
      // not ready for traffic until a deployment's engines are loaded (a chat before that is a 503)
      deps?.registerCheck('gateway.policy', () => (pool.isReady() ? { up: true } : { up: false, detail: 'loading the deployed policy versions' }));
      return pool;
    },
    inject: [POLICY_LOADER, { token: Dependencies, optional: true }],
  },
  {
    provide: DeploymentWatcher,
    useFactory: (source: DeploymentSource, pool: ModelPool, bus: EventBus) => new DeploymentWatcher(source, pool, bus),
    inject: [DEPLOYMENT_SOURCE, ModelPool, EVENT_BUS],
  },
  {
    provide: CHAT_SETTINGS,
    useFactory: (o: GatewayOptions): ServiceSettings => ({ defaultMaxTokens: o.defaultMaxTokens, deadlineMs: o.deadlineMs }),
    inject: [GATEWAY_OPTIONS],
  },
  {
    provide: ChatService,
    useFactory: (pool: ModelPool, admission: AdmissionQueue, completions: CompletionLog, metrics: GatewayMetrics, s: ServiceSettings, bestOfN: BestOfNMode | null | undefined) =>
      new ChatService(pool, admission, completions, metrics, s, bestOfN ?? null),
    inject: [ModelPool, AdmissionQueue, CompletionLog, GatewayMetrics, CHAT_SETTINGS, { token: BEST_OF_N_MODE, optional: true }],
  },
  GatewayHooks,
  GatewayLifecycle,
  roleHeartbeatProvider('gateway'),
  { provide: APP_FILTER, useClass: OpenAIErrorFilter },
];

/** Exported for the feedback module: auth, and the completion log (to index recent completions). */
export const GATEWAY_EXPORTS = [AuthService, CompletionLog, GatewayMetrics, ModelPool, AdmissionQueue, GATEWAY_OPTIONS];

/** adminControllers: the registry's admin API, which needs the repositories and the artifact store (the real module only). */
export function gatewayModuleMetadata(infrastructure: Provider[], adminControllers: Type[] = []): ModuleMetadata {
  return { controllers: [ChatController, OpenApiController, ...adminControllers], providers: [...GATEWAY_CORE, ...infrastructure], exports: GATEWAY_EXPORTS };
}

@Module(gatewayModuleMetadata(GATEWAY_INFRASTRUCTURE, [ModelsController]))
export class GatewayModule {}
