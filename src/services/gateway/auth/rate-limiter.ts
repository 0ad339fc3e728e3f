// Per-key rate limits as token buckets (capacity = the per-minute limit, refilled
// continuously at limit/60 per second): a key may burst up to its minute's worth
// and then proceeds at the sustained rate. A refusal says exactly when the next
// token arrives, which becomes the Retry-After header; every decision also reports
// what OpenAI's x-ratelimit-*-requests headers say (limit, remaining, time to full).

export interface RateDecision {
  /** 0 when allowed, else the whole seconds until a token is available */
  waitSeconds: number;
  limit: number;
  /** whole requests left in the bucket after this one */
  remaining: number;
  /** ms until the bucket is full again */
  resetMs: number;
}

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, { tokens: number; updated: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  /** Take one token if there is one. */
  take(key: string, perMinute: number): RateDecision {
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
    const allowed = b.tokens >= 1;
    if (allowed) b.tokens -= 1;
    return {
      waitSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - b.tokens) / ratePerMs / 1000)),
      limit: perMinute,
      remaining: Math.floor(b.tokens),
      resetMs: Math.ceil((perMinute - b.tokens) / ratePerMs),
    };
  }
}

/** OpenAI's duration format for x-ratelimit-reset-*: "20ms", "1s", "6m0s", "1h2m3s". */
export function formatResetDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  let s = Math.ceil(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
