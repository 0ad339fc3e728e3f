import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDataSource, runMigrations } from '../../../../../src/platform/persistence/data-source.js';
import { createRepositories } from '../../../../../src/platform/persistence/repositories/index.js';
import { ApiKeyEntity } from '../../../../../src/platform/persistence/entities/api-key.entity.js';
import { CachedApiKeyStore, createApiKey, hashApiKeySecret, parseScopes, revokeApiKey, RepositoryApiKeyStore } from '../../../../../src/services/gateway/auth/api-keys.js';
import { AuthService } from '../../../../../src/services/gateway/auth/auth.service.js';
import { formatResetDuration, TokenBucketLimiter } from '../../../../../src/services/gateway/auth/rate-limiter.js';
import { GatewayError } from '../../../../../src/services/gateway/errors.js';

describe('API keys on SQLite', () => {
  it('createApiKey stores only the hash; the store finds it by hash; revocation is seen after the cache ttl', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keys-'));
    const ds = createDataSource({ type: 'better-sqlite3', path: join(dir, 'db.sqlite') });
    try {
      await ds.initialize();
      await runMigrations(ds);
      const key = await createApiKey(createRepositories(ds).apiKeys, { name: 'ci', scopes: 'chat,feedback', rateLimitPerMinute: 60 });
      assert.match(key.secret, /^ol-[A-Za-z0-9_-]{43}$/);
      const rows = await ds.getRepository(ApiKeyEntity).find();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.hashedSecret, hashApiKeySecret(key.secret));
      assert.ok(!JSON.stringify(rows[0]).includes(key.secret), 'the secret itself is not stored');

      let now = 0;
      const store = new CachedApiKeyStore(new RepositoryApiKeyStore(createRepositories(ds).apiKeys), 1000, 100, () => now);
      const auth = new AuthService(store, new TokenBucketLimiter(), { mode: 'required', defaultRateLimitPerMinute: 0 });
      const caller = await auth.authorize({ authorization: `Bearer ${key.secret}` }, 'feedback');
      assert.deepEqual([caller.apiKeyId, caller.scopes], [key.id, ['chat', 'feedback']]);
      assert.deepEqual(caller.rate && [caller.rate.limit, caller.rate.remaining], [60, 59]);
      await assert.rejects(auth.authorize({ authorization: `Bearer ${key.secret}` }, 'admin'), (e: GatewayError) => e.status === 403);

      assert.equal(await revokeApiKey(createRepositories(ds).apiKeys, key.id), true);
      assert.ok(await auth.authorize({ authorization: `Bearer ${key.secret}` }, 'chat'), 'cached within the ttl');
      now = 2000;
      await assert.rejects(auth.authorize({ authorization: `Bearer ${key.secret}` }, 'chat'), (e: GatewayError) => e.status === 401 && /revoked/.test(e.message));
    } finally {
      if (ds.isInitialized) await ds.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parseScopes names the bad scope', () => {
    assert.deepEqual(parseScopes('chat, feedback,chat'), ['chat', 'feedback']);
    assert.throws(() => parseScopes('chat,root'), /unknown scope "root"/);
    assert.throws(() => parseScopes(''), /at least one/);
  });
});

describe('AuthService modes and rate limits', () => {
  const store = { findByHash: async (h: string) => (h === hashApiKeySecret('ol-good') ? { id: 'k1', scopes: ['chat' as const], rateLimitPerMinute: 2, revoked: false } : null) };

  it('open mode: no key or an unknown placeholder key is anonymous; a real key is attributed and limited', async () => {
    const auth = new AuthService(store, new TokenBucketLimiter(), { mode: 'open', defaultRateLimitPerMinute: 0 });
    assert.equal((await auth.authorize({}, 'admin')).apiKeyId, null);
    assert.equal((await auth.authorize({ authorization: 'Bearer sk-placeholder' }, 'chat')).apiKeyId, null);
    assert.equal((await auth.authorize({ 'x-api-key': 'ol-good' }, 'chat')).apiKeyId, 'k1');
    await assert.rejects(auth.authorize({ authorization: 'Bearer ol-good' }, 'feedback'), (e: GatewayError) => e.status === 403);
  });

  it('token bucket: burst of the per-minute limit, then Retry-After until a token refills', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter(() => now);
    const wait = (key: string) => limiter.take(key, 2).waitSeconds;
    assert.equal(wait('k'), 0);
    assert.equal(wait('k'), 0);
    assert.equal(wait('k'), 30, 'one token per 30 s at 2/min');
    now = 29_000;
    assert.equal(wait('k'), 1);
    now = 30_000;
    assert.equal(wait('k'), 0);
    assert.equal(wait('other'), 0, 'buckets are per key');
  });

  it('every decision reports what the x-ratelimit-*-requests headers say: limit, whole requests left, time to a full bucket', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter(() => now);
    assert.deepEqual(limiter.take('k', 60), { waitSeconds: 0, limit: 60, remaining: 59, resetMs: 1000 });
    now = 500;
    assert.deepEqual(limiter.take('k', 60), { waitSeconds: 0, limit: 60, remaining: 58, resetMs: 1500 });
    assert.deepEqual(['20ms', '1s', '6m0s', '1h0m1s'], [20, 1000, 360_000, 3_601_000].map(formatResetDuration));
  });
});
