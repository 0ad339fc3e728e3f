// The completion log: every completion the gateway serves is produced to
// `outerloop.completions`, which is what feedback later points back to.
//
// The chat never waits for the bus. Fast path: events are published from a small
// in-memory queue by one pump. When a publish fails (bus down, or slower than
// publishTimeoutMs), the batch and every later event go to the durable spool
// (completion-spool.ts) and the pump retries with backoff, draining the spool in
// order before returning to the fast path. A spool that is full refuses new
// events; each such loss is counted (outerloop_gateway_completion_spool_dropped_total).
// Delivery is at-least-once (a timed-out publish may still land); consumers
// upsert by eventId (= completionId), so a duplicate is harmless.
import { Topic, validateEvent, type CompletionEvent, type EventInput } from '../../../platform/messaging/events.js';
import type { EventBus } from '../../../platform/messaging/event-bus.js';
import { Logger } from '../../../platform/logging/logger.js';
import type { CompletionSpool } from '../../../platform/spool/completion-spool.js';

export interface CompletionLogOptions {
  batchSize: number;
  publishTimeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** in-memory events waiting for the pump before they go to the spool instead */
  maxInMemory: number;
}

export const DEFAULT_COMPLETION_LOG_OPTIONS: CompletionLogOptions = {
  batchSize: 200,
  publishTimeoutMs: 5_000,
  retryMinMs: 200,
  retryMaxMs: 10_000,
  maxInMemory: 1_000,
};

export interface CompletionLogCounters {
  onPublished?(n: number): void;
  onSpooled?(n: number): void;
  onDropped?(n: number): void;
  onSpoolSize?(n: number): void;
}

type Pending = { key: string; payload: string };

export class CompletionLog {
  private readonly log = new Logger('gateway.completion-log');
  private readonly memory: Pending[] = [];
  private pumping = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelay: number;
  private busDown = false;
  private closed = false;
  private readonly listeners: Array<(e: CompletionEvent) => void> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly bus: EventBus,
    private readonly spool: CompletionSpool,
    private readonly counters: CompletionLogCounters = {},
    private readonly opts: CompletionLogOptions = DEFAULT_COMPLETION_LOG_OPTIONS,
  ) {
    this.retryDelay = opts.retryMinMs;
    counters.onSpoolSize?.(spool.size());
    if (spool.size() > 0) {
      this.log.info('completion spool holds events from a previous run; flushing', { spooled: spool.size() });
      this.kick();
    }
  }

  /** Called with each recorded completion (e.g. the feedback API's recent-completion index). */
  onRecorded(listener: (e: CompletionEvent) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Record a completion. Never throws for bus trouble and never waits for the bus.
   * Throws only for an invalid event — a programming error that must surface in tests.
   */
  record(input: EventInput<typeof Topic.completions>): CompletionEvent {
    const checked = validateEvent(Topic.completions, input);
    if (!checked.ok) throw new Error(`invalid completion event: ${checked.reason}`);
    const event = checked.value;
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.log.error('completion listener failed', err, { completionId: event.completionId });
      }
    }
    const pending: Pending = { key: event.conversationId, payload: JSON.stringify(event) };
    // Keep order: once anything is spooled, new events queue behind it on disk.
    if (this.busDown || this.spool.size() > 0 || this.memory.length >= this.opts.maxInMemory) {
      this.toSpool([pending]);
    } else {
      this.memory.push(pending);
    }
    this.kick();
    return event;
  }

  spooled(): number {
    return this.spool.size();
  }

  /** Resolves when nothing is waiting in memory or in the spool (tests, shutdown). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private isIdle(): boolean {
    return !this.pumping && this.memory.length === 0 && this.spool.size() === 0;
  }

  private toSpool(records: Pending[]): void {
    const kept = this.spool.appendAll(records);
    if (kept > 0) this.counters.onSpooled?.(kept);
    const dropped = records.length - kept;
    if (dropped > 0) {
      this.counters.onDropped?.(dropped);
      this.log.error('completion spool full: completions dropped from the log', undefined, {
        dropped,
        spoolMax: this.spool.maxEntries,
      });
    }
    this.counters.onSpoolSize?.(this.spool.size());
  }

  private kick(): void {
    if (this.pumping || this.retryTimer || this.closed) return;
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
      if (this.isIdle()) {
        const w = this.idleWaiters;
        this.idleWaiters = [];
        for (const r of w) r();
      } else if (!this.retryTimer && !this.closed) {
        this.kick();
      }
    });
  }

  private async publish(records: Pending[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`publish took longer than ${this.opts.publishTimeoutMs} ms`)), this.opts.publishTimeoutMs);
    });
    try {
      await Promise.race([
        this.bus.publish(
          Topic.completions,
          records.map((r) => ({ key: r.key, value: JSON.parse(r.payload) as EventInput<typeof Topic.completions> })),
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async pump(): Promise<void> {
    while (!this.closed) {
      if (this.spool.size() > 0) {
        const head = this.spool.head(this.opts.batchSize);
        try {
          await this.publish(head);
        } catch (err) {
          this.scheduleRetry(err);
          return;
        }
        // closed while publishing: the rows stay spooled and are re-sent at next start
        // (at-least-once; consumers deduplicate by eventId).
        if (this.closed) return;
        this.spool.removeThrough(head[head.length - 1]!.seq);
        this.counters.onPublished?.(head.length);
        this.counters.onSpoolSize?.(this.spool.size());
        this.recovered();
        continue;
      }
      if (this.memory.length > 0) {
        const batch = this.memory.splice(0, this.opts.batchSize);
        try {
          await this.publish(batch);
        } catch (err) {
          // The failed batch goes first, then whatever queued in memory meanwhile: order kept.
          const rest = this.memory.splice(0, this.memory.length);
          this.toSpool([...batch, ...rest]);
          this.scheduleRetry(err);
          return;
        }
        this.counters.onPublished?.(batch.length);
        this.recovered();
        continue;
      }
      return;
    }
  }

  private recovered(): void {
    if (this.busDown) this.log.info('event bus is back; completion log flushing', { spooled: this.spool.size() });
    this.busDown = false;
    this.retryDelay = this.opts.retryMinMs;
  }

  private scheduleRetry(err: unknown): void {
    if (!this.busDown) {
      this.log.warn('event bus unavailable; completions go to the durable spool', {
        error: err instanceof Error ? err.message : String(err),
        spooled: this.spool.size(),
      });
    }
    this.busDown = true;
    if (this.closed) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.opts.retryMaxMs, this.retryDelay * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.kick();
    }, delay);
    // Not unref'd: spooled events pending a retry are work in progress; close() clears it.
  }

  /**
   * Stop: try one last flush (bounded by the publish timeout); whatever is still in
   * memory goes to the spool so the next start publishes it.
   */
  async close(): Promise<void> {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    if (!this.busDown && (this.memory.length > 0 || this.pumping)) {
      const deadline = new Promise<void>((r) => setTimeout(r, this.opts.publishTimeoutMs).unref());
      await Promise.race([this.whenIdle(), deadline]);
    }
    this.closed = true;
    if (this.memory.length > 0) this.toSpool(this.memory.splice(0, this.memory.length));
    this.spool.close();
  }
}
