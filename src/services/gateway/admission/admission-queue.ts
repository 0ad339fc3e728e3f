// Admission control in front of the engine. The engine batches continuously over
// a fixed number of KV-cache slots; the gateway admits at most that many
// generations at once and lets a bounded number of requests wait for a slot.
// Beyond that the request is refused at once with 429 + Retry-After: an
// unbounded queue only converts overload into timeouts for everyone.
import { GatewayError } from '../errors.js';

interface Waiter {
  slots: number;
  resolve: (release: () => void) => void;
  reject: (err: unknown) => void;
  cleanup: () => void;
}

export interface AdmissionOptions {
  /** generations running at once (= engine slots) */
  maxConcurrent: number;
  /** requests allowed to wait for a slot */
  maxWaiting: number;
  /** Retry-After hint (seconds) when the queue is full */
  retryAfterSeconds: number;
}

export class AdmissionQueue {
  private active = 0;
  private readonly waiters: Waiter[] = [];

  constructor(private readonly opts: AdmissionOptions) {
    if (opts.maxConcurrent < 1) throw new Error('admission: maxConcurrent must be >= 1');
    if (opts.maxWaiting < 0) throw new Error('admission: maxWaiting must be >= 0');
  }

  get activeSlots(): number {
    return this.active;
  }
  get waiting(): number {
    return this.waiters.length;
  }
  get capacity(): number {
    return this.opts.maxConcurrent;
  }

  /**
   * Wait for `slots` generation slots (n choices of one request are admitted
   * together, so a request never half-runs). Rejects with 429 when the queue is
   * full, and with the signal's reason when the client leaves or the deadline
   * passes while waiting.
   */
  acquire(slots: number, signal?: AbortSignal): Promise<() => void> {
    if (slots > this.opts.maxConcurrent) {
      return Promise.reject(GatewayError.invalid('n', `n=${slots} exceeds this gateway's ${this.opts.maxConcurrent} concurrent generations`));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.waiters.length === 0 && this.active + slots <= this.opts.maxConcurrent) {
      this.active += slots;
      return Promise.resolve(this.releaser(slots));
    }
    if (this.waiters.length >= this.opts.maxWaiting) {
      return Promise.reject(
        GatewayError.rateLimited(
          `the server is at capacity (${this.active} generations running, ${this.waiters.length} waiting); retry later`,
          this.opts.retryAfterSeconds,
          'server_overloaded',
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal!.reason);
        this.drain();
      };
      const waiter: Waiter = {
        slots,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Take slots only if free right now (shadow traffic never queues or displaces users). */
  tryAcquire(slots: number): (() => void) | null {
    if (this.waiters.length > 0 || this.active + slots > this.opts.maxConcurrent) return null;
    this.active += slots;
    return this.releaser(slots);
  }

  private releaser(slots: number): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active -= slots;
      this.drain();
    };
  }

  /** FIFO: the head waits for enough free slots; later requests do not overtake it. */
  private drain(): void {
    while (this.waiters.length > 0) {
      const head = this.waiters[0]!;
      if (this.active + head.slots > this.opts.maxConcurrent) return;
      this.waiters.shift();
      head.cleanup();
      this.active += head.slots;
      head.resolve(this.releaser(head.slots));
    }
  }
}
