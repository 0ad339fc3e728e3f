// Gateway-only settings. Parsed and validated once when the module starts, with
// errors naming the variable (the same habit as src/config/config.ts, which holds
// the settings every role shares).
import { z } from 'zod';
import { ConfigError, type OuterloopConfig } from '../../config/config.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const GatewayEnvSchema = z.object({
  /** auto: open (no key needed) in embedded mode on a loopback host, keys required otherwise */
  OUTERLOOP_GATEWAY_AUTH: z.enum(['auto', 'required', 'open']).default('auto'),
  /** generations running at once; should equal the engine's batch slots */
  OUTERLOOP_GATEWAY_MAX_CONCURRENT: int(1, 1024).default(32),
  /** requests allowed to wait for a slot before 429 */
  OUTERLOOP_GATEWAY_MAX_WAITING: int(0, 100_000).default(64),
  /** whole-request deadline, queueing included */
  OUTERLOOP_GATEWAY_DEADLINE_MS: int(100, 3_600_000).default(120_000),
  OUTERLOOP_GATEWAY_DEFAULT_MAX_TOKENS: int(1, 100_000).default(256),
  OUTERLOOP_GATEWAY_SPOOL_MAX: int(1, 100_000_000).default(100_000),
  /** rate limit for keys without their own, requests per minute (0 = none) */
  OUTERLOOP_GATEWAY_DEFAULT_RATE_LIMIT: int(0, 1_000_000).default(0),
});

export interface GatewayOptions {
  auth: 'required' | 'open';
  maxConcurrent: number;
  maxWaiting: number;
  deadlineMs: number;
  defaultMaxTokens: number;
  spoolPath: string;
  spoolMax: number;
  defaultRateLimitPerMinute: number;
  /** seconds suggested to clients refused for capacity */
  retryAfterSeconds: number;
}

export const GATEWAY_OPTIONS = Symbol('GATEWAY_OPTIONS');

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function loadGatewayOptions(config: OuterloopConfig, env: Record<string, string | undefined>): GatewayOptions {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(GatewayEnvSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const r = GatewayEnvSchema.safeParse(raw);
  if (!r.success) {
    throw new ConfigError(r.error.issues.map((i) => `${String(i.path[0])}=${JSON.stringify(raw[String(i.path[0])] ?? '')}: ${i.message}`));
  }
  const e = r.data;
  const auth =
    e.OUTERLOOP_GATEWAY_AUTH === 'auto'
      ? config.mode === 'embedded' && LOOPBACK.has(config.http.host)
        ? 'open'
        : 'required'
      : e.OUTERLOOP_GATEWAY_AUTH;
  return {
    auth,
    maxConcurrent: e.OUTERLOOP_GATEWAY_MAX_CONCURRENT,
    maxWaiting: e.OUTERLOOP_GATEWAY_MAX_WAITING,
    deadlineMs: e.OUTERLOOP_GATEWAY_DEADLINE_MS,
    defaultMaxTokens: e.OUTERLOOP_GATEWAY_DEFAULT_MAX_TOKENS,
    spoolPath: `${config.dataDir}/gateway/completion-spool.sqlite`,
    spoolMax: e.OUTERLOOP_GATEWAY_SPOOL_MAX,
    defaultRateLimitPerMinute: e.OUTERLOOP_GATEWAY_DEFAULT_RATE_LIMIT,
    retryAfterSeconds: 1,
  };
}
