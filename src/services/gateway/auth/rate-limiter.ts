// Per-key rate limits as token buckets (capacity = the per-minute limit, refilled
// continuously at limit/60 per second): a key may burst up to its minute's worth
// and then proceeds at the sustained rate. A refusal says exactly when the next
// token arrives, which becomes the Retry-After header.
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, { tokens: number; updated: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  /** Take one token; returns 0 when allowed, else the seconds until one is available. */
  take(key: string, perMinute: number): number {
    const t = this.now();
    const ratePerMs = perMinute / 60_000;
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
      b = { tokens: perMinute, updated: t };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(perMinute, b.tokens + (t - b.updated) * ratePerMs);
      b.updated = t;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / ratePerMs / 1000));
  }
}
