// Brings the database and the event bus up in the background, with retries and
// backoff, so that the HTTP server answers /healthz at once and /readyz says what
// is missing instead of the process crash-looping while a dependency starts.
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { OuterloopConfig } from '../../config/config.js';
import { Logger } from '../logging/logger.js';
import type { EventBus } from '../messaging/event-bus.js';
import type { IDatabase } from '../persistence/database.js';
import { CONFIG, DATABASE, EVENT_BUS } from '../tokens.js';

export interface CheckResult {
  up: boolean;
  detail?: string;
}

export interface DependencyStatus {
  database: CheckResult;
  bus: CheckResult;
  /** what the roles registered (registerCheck), e.g. the gateway's "a policy is loaded" */
  roles?: Record<string, CheckResult>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then(
      (v) => { clearTimeout(t); resolve(v); },
      (e: unknown) => { clearTimeout(t); reject(e instanceof Error ? e : new Error(String(e))); },
    );
  });
}

@Injectable()
export class Dependencies implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger('dependencies');
  private readonly abort = new AbortController();
  private readyResolve!: () => void;
  /** resolves once the database is connected and migrated and the bus started */
  readonly ready: Promise<void> = new Promise((r) => (this.readyResolve = r));
  private databaseStarted = false;
  private busStarted = false;
  private readonly roleChecks = new Map<string, () => CheckResult>();

  constructor(
    @Inject(CONFIG) private readonly config: OuterloopConfig,
    @Inject(DATABASE) private readonly database: IDatabase,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
  ) {}

  onModuleInit(): void {
    // Not awaited: start-up must not block the HTTP server (readiness reports it).
    void this.bringUp().catch((err: unknown) => {
      if (!this.abort.signal.aborted) this.log.error('dependencies failed to start', err);
    });
  }

  private async bringUp(): Promise<void> {
    const database = (async () => {
      await this.database.connect(this.log, { signal: this.abort.signal });
      if (this.config.runMigrations) {
        const applied = await this.database.migrate();
        if (applied.length) this.log.info('migrations applied', { applied });
      }
      this.databaseStarted = true;
    })();
    // The embedded bus lives in the database: it can only start after it.
    if (this.config.bus.type === 'embedded') await database;
    const bus = (async () => {
      await this.bus.start();
      this.busStarted = true;
    })();
    await Promise.all([database, bus]);
    this.log.info('dependencies ready', { database: this.config.database.type, bus: this.config.bus.type });
    this.readyResolve();
  }

  /**
   * A role adds what it needs before it can take traffic (the gateway: a policy loaded);
   * /readyz is 200 only when every check is up. Checks are synchronous and cheap.
   */
  registerCheck(name: string, check: () => CheckResult): void {
    this.roleChecks.set(name, check);
  }

  async status(): Promise<DependencyStatus> {
    const database = await (async () => {
      if (!this.databaseStarted) return { up: false, detail: 'connecting / migrating' };
      try {
        await withTimeout(this.database.ping(), 2000, 'database');
        return { up: true };
      } catch (err) {
        return { up: false, detail: (err as Error).message };
      }
    })();
    const bus = await (async () => {
      if (!this.busStarted) return { up: false, detail: 'connecting' };
      try {
        const ok = await withTimeout(this.bus.isReady(), 2000, 'bus');
        return ok ? { up: true } : { up: false, detail: 'not ready' };
      } catch (err) {
        return { up: false, detail: (err as Error).message };
      }
    })();
    if (this.roleChecks.size === 0) return { database, bus };
    const roles: Record<string, CheckResult> = {};
    for (const [name, check] of this.roleChecks) {
      try {
        roles[name] = check();
      } catch (err) {
        roles[name] = { up: false, detail: (err as Error).message };
      }
    }
    return { database, bus, roles };
  }

  async onApplicationShutdown(): Promise<void> {
    this.abort.abort();
    // Consumers stop and commit their offsets in bus.close().
    await this.bus.close().catch((err: unknown) => this.log.error('closing the event bus', err));
    await this.database.close();
  }
}
