// Keeps the ModelPool on the current deployment: loads it at start (retrying
// while the database or an artifact is not there yet), reloads on every
// `outerloop.model-events` event, and re-checks periodically as a safety net for a
// missed event. Each gateway process consumes model events in its own consumer
// group: every replica must see every event (broadcast, not work sharing).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Topic } from '../../../platform/messaging/events.js';
import type { EventBus, Subscription } from '../../../platform/messaging/event-bus.js';
import { Logger } from '../../../platform/logging/logger.js';
import type { DeploymentSource } from './deployment-source.js';
import type { ModelPool } from './model-pool.js';

export interface WatcherOptions {
  pollMs: number;
  retryMinMs: number;
  retryMaxMs: number;
}

export class DeploymentWatcher {
  private readonly log = new Logger('gateway.deployments');
  private subscription: Subscription | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private appliedKey: string | null = null;
  private reloading: Promise<void> | null = null;
  private reloadAgain = false;

  constructor(
    private readonly source: DeploymentSource,
    private readonly pool: ModelPool,
    private readonly bus: EventBus | null,
    private readonly opts: WatcherOptions = { pollMs: 30_000, retryMinMs: 500, retryMaxMs: 15_000 },
  ) {}

  /** Resolves once a deployment is served (retrying until then) and the subscription is up. */
  async start(): Promise<void> {
    let delay = this.opts.retryMinMs;
    while (!this.stopped) {
      try {
        await this.reload();
        break;
      } catch (err) {
        this.log.warn('cannot load the deployment yet; retrying', { error: err instanceof Error ? err.message : String(err), retryInMs: delay });
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(this.opts.retryMaxMs, delay * 2);
      }
    }
    if (this.stopped) return;
    if (this.bus) {
      try {
        this.subscription = await this.bus.subscribe({
          topic: Topic.modelEvents,
          groupId: `gateway-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
          fromBeginning: false,
          handleBatch: async (messages) => {
            this.log.info('model event received', { kinds: messages.map((m) => m.value.kind), models: messages.map((m) => m.value.modelId) });
            await this.reload();
          },
        });
      } catch (err) {
        this.log.error('cannot subscribe to model events; relying on polling', err, { pollMs: this.opts.pollMs });
      }
    }
    this.pollTimer = setInterval(() => {
      this.reload().catch((err) => this.log.error('periodic deployment check failed', err));
    }, this.opts.pollMs);
    this.pollTimer.unref();
  }

  /** Apply the registry's current deployment if it changed. Concurrent calls coalesce. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    const run = async (): Promise<void> => {
      do {
        this.reloadAgain = false;
        const { spec, sources } = await this.source.current();
        const key = JSON.stringify([spec, sources]);
        if (key === this.appliedKey) continue;
        await this.pool.apply(spec, sources);
        this.appliedKey = key;
      } while (this.reloadAgain && !this.stopped);
    };
    this.reloading = run().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.subscription) await this.subscription.stop();
    await this.reloading?.catch(() => undefined);
  }
}
