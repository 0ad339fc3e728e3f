// Who is calling, may they do this, and are they within their rate. Run once per
// request by the gateway's onRequest hook (auth.hook.ts), before the body is read.
import { GatewayError } from '../errors.js';
import { hashApiKeySecret, type ApiKeyStore, type Scope } from './api-keys.js';
import { formatResetDuration, type RateDecision, type TokenBucketLimiter } from './rate-limiter.js';

export interface Caller {
  /** null in open mode without a key */
  apiKeyId: string | null;
  scopes: readonly Scope[];
  /** the key's rate-limit state after this request; null when the key has no limit */
  rate: RateDecision | null;
}

/** OpenAI's request rate-limit headers (https://platform.openai.com/docs/guides/rate-limits). */
export function rateLimitHeaders(rate: RateDecision): Record<string, string> {
  return {
    'x-ratelimit-limit-requests': String(rate.limit),
    'x-ratelimit-remaining-requests': String(rate.remaining),
    'x-ratelimit-reset-requests': formatResetDuration(rate.resetMs),
  };
}

export interface AuthSettings {
  mode: 'required' | 'open';
  defaultRateLimitPerMinute: number;
}

type Headers = Record<string, string | string[] | undefined>;

function bearer(headers: Headers): string | null {
  const h = headers['authorization'];
  const v = Array.isArray(h) ? h[0] : h;
  if (v) {
    const m = /^Bearer\s+(.+)$/i.exec(v.trim());
    return m ? m[1]!.trim() : null;
  }
  const x = headers['x-api-key'];
  return (Array.isArray(x) ? x[0] : x)?.trim() || null;
}

const OPEN_CALLER: Caller = { apiKeyId: null, scopes: ['chat', 'feedback', 'admin'], rate: null };

export class AuthService {
  constructor(
    private readonly store: ApiKeyStore,
    private readonly limiter: TokenBucketLimiter,
    readonly settings: AuthSettings,
  ) {}

  /**
   * Authenticate, check the scope and take a rate-limit token. In open mode a
   * request without a known key is allowed; a known key is still checked, so a
   * client's key id lands on its completions.
   */
  async authorize(headers: Headers, scope: Scope): Promise<Caller> {
    const secret = bearer(headers);
    if (!secret) {
      if (this.settings.mode === 'open') return OPEN_CALLER;
      throw GatewayError.unauthenticated('You did not provide an API key. Send it as "Authorization: Bearer <key>".');
    }
    const record = await this.store.findByHash(hashApiKeySecret(secret));
    // Open mode accepts any placeholder key (the OpenAI SDKs refuse to run without
    // one, and local OpenAI-compatible servers such as vLLM without --api-key accept
    // anything); a real key is still attributed, and a revoked one still refused.
    if (!record && this.settings.mode === 'open') return OPEN_CALLER;
    if (!record || record.revoked) throw GatewayError.unauthenticated(record ? 'This API key has been revoked.' : 'Incorrect API key provided.');
    if (!record.scopes.includes(scope)) {
      throw GatewayError.forbidden(`This API key lacks the '${scope}' scope (it has: ${record.scopes.join(', ') || 'none'}).`);
    }
    const limit = record.rateLimitPerMinute ?? this.settings.defaultRateLimitPerMinute;
    let rate: RateDecision | null = null;
    if (limit > 0) {
      rate = this.limiter.take(record.id, limit);
      if (rate.waitSeconds > 0) {
        throw GatewayError.rateLimited(`Rate limit of ${limit} requests per minute reached for this API key.`, rate.waitSeconds).withHeaders(rateLimitHeaders(rate));
      }
    }
    return { apiKeyId: record.id, scopes: record.scopes, rate };
  }
}
