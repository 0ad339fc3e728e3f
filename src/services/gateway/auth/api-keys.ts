// API keys: `ol-` + 256 random bits, shown once at creation. Only sha256(secret)
// is stored: the secret has full entropy, so a slow KDF adds nothing against
// guessing, and a plain hash lets the gateway find a key with one indexed lookup
// (the api_keys.hashed_secret unique index).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IApiKeyRepository } from '../../../platform/persistence/repositories/index.js';

export const SCOPES = ['chat', 'feedback', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const API_KEY_PREFIX = 'ol-';

export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function parseScopes(list: string | readonly string[]): Scope[] {
  const items = (typeof list === 'string' ? list.split(',') : [...list]).map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new Error(`scopes: at least one of ${SCOPES.join(', ')} is required`);
  for (const s of items) {
    if (!(SCOPES as readonly string[]).includes(s)) throw new Error(`scopes: unknown scope "${s}" (known: ${SCOPES.join(', ')})`);
  }
  return [...new Set(items)] as Scope[];
}

export interface CreatedApiKey {
  id: string;
  name: string;
  scopes: Scope[];
  rateLimitPerMinute: number | null;
  /** the only time the secret exists outside the client */
  secret: string;
}

/** Create a key (used by `outerloop keys create`). The secret is returned once and never stored. */
export async function createApiKey(
  keys: IApiKeyRepository,
  opts: { name: string; scopes: string | readonly string[]; rateLimitPerMinute?: number | null },
): Promise<CreatedApiKey> {
  const name = opts.name.trim();
  if (!name || name.length > 200) throw new Error('name: required, at most 200 characters');
  const scopes = parseScopes(opts.scopes);
  const rate = opts.rateLimitPerMinute ?? null;
  if (rate !== null && !(Number.isInteger(rate) && rate > 0)) throw new Error(`rateLimitPerMinute: must be a positive integer, got ${rate}`);
  const secret = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  const id = `key_${randomUUID()}`;
  await keys.insert({ id, name, hashedSecret: hashApiKeySecret(secret), scopes, rateLimitPerMinute: rate, createdAt: new Date(), revokedAt: null });
  return { id, name, scopes, rateLimitPerMinute: rate, secret };
}

export function revokeApiKey(keys: IApiKeyRepository, id: string): Promise<boolean> {
  return keys.revoke(id, new Date());
}

export interface ApiKeyRecord {
  id: string;
  scopes: Scope[];
  rateLimitPerMinute: number | null;
  revoked: boolean;
}

/** Port: find a key by the hash of its secret. */
export interface ApiKeyStore {
  findByHash(hashedSecret: string): Promise<ApiKeyRecord | null>;
}

/** The store over the api_keys repository. */
export class RepositoryApiKeyStore implements ApiKeyStore {
  constructor(private readonly keys: IApiKeyRepository) {}

  async findByHash(hashedSecret: string): Promise<ApiKeyRecord | null> {
    const row = await this.keys.findByHash(hashedSecret);
    if (!row) return null;
    return {
      id: row.id,
      scopes: row.scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)),
      rateLimitPerMinute: row.rateLimitPerMinute,
      revoked: row.revokedAt !== null,
    };
  }
}

/**
 * A short-lived cache in front of the store: a key is looked up once per ttl, not
 * on every request. The ttl bounds how long a revoked key keeps working on a
 * gateway that saw it recently (docs/api.md says so): 10 s, one lookup per key
 * per 10 s per replica.
 */
export class CachedApiKeyStore implements ApiKeyStore {
  private readonly cache = new Map<string, { record: ApiKeyRecord | null; expires: number }>();

  constructor(
    private readonly inner: ApiKeyStore,
    private readonly ttlMs = 10_000,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async findByHash(hashedSecret: string): Promise<ApiKeyRecord | null> {
    const hit = this.cache.get(hashedSecret);
    if (hit && hit.expires > this.now()) return hit.record;
    const record = await this.inner.findByHash(hashedSecret);
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(hashedSecret, { record, expires: this.now() + this.ttlMs });
    return record;
  }
}
