// Gateway settings, derived from the one validated configuration object.
import type { OuterloopConfig } from '../../config/config.js';

export interface GatewayOptions {
  auth: 'required' | 'open';
  /**
   * Answer only requests whose Host is a loopback name (localhost, 127.x, [::1]): on
   * when the gateway runs open on a loopback address, against DNS rebinding.
   */
  loopbackHostsOnly: boolean;
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

/** Gateway settings from the validated configuration (src/config/config.ts). */
export function gatewayOptionsFrom(config: OuterloopConfig): GatewayOptions {
  const g = config.gateway;
  const auth = g.auth === 'auto' ? (config.mode === 'embedded' && LOOPBACK.has(config.http.host) ? 'open' : 'required') : g.auth;
  return {
    auth,
    loopbackHostsOnly: auth === 'open' && LOOPBACK.has(config.http.host),
    maxConcurrent: g.maxConcurrent,
    maxWaiting: g.maxWaiting,
    deadlineMs: g.deadlineMs,
    defaultMaxTokens: g.defaultMaxTokens,
    spoolPath: `${config.dataDir}/gateway/completion-spool.sqlite`,
    spoolMax: g.spoolMax,
    defaultRateLimitPerMinute: g.defaultRateLimitPerMinute,
    retryAfterSeconds: 1,
  };
}
