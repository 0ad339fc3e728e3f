import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ModelNotServedError, ModelPool } from '../../../../../src/services/gateway/routing/model-pool.js';
import { FakeBackend } from '../support/fake-backend.js';

const src = (v: string) => ({ version: v, artifactDir: v });

describe('ModelPool hot swap', () => {
  it('switches new requests at once, closes the old engine only after its in-flight requests', async () => {
    const made: FakeBackend[] = [];
    const pool = new ModelPool(FakeBackend.loader(made, { tokenDelayMs: 5, tokensPerAnswer: 20 }));
    await pool.apply({ id: 'd1', production: 'v1', canary: null, shadow: null }, [src('v1')]);
    const lease = pool.acquire('v1');
    const inFlight = lease.backend.generate({ prompt: [{ text: 'hi' }], maxTokens: 50, temperature: 1, topP: 1, seed: 1 });

    await pool.apply({ id: 'd2', production: 'v2', canary: null, shadow: null }, [src('v2')]);
    assert.equal(pool.deployment().production, 'v2');
    assert.deepEqual(pool.servableVersions(), ['v2']);
    assert.throws(() => pool.acquire('v1'), ModelNotServedError);
    assert.equal(made[0]!.closed, false, 'old engine still open while a request runs on it');

    const result = await inFlight;
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.completionTokens, 20);
    lease.release();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(made[0]!.closed, true, 'old engine closed after the last lease');
    assert.equal(made[1]!.closed, false);
    await pool.close();
    assert.equal(made[1]!.closed, true);
  });

  it('keeps the previous deployment when loading the new one fails', async () => {
    let fail = false;
    const made: FakeBackend[] = [];
    const pool = new ModelPool(async (dir) => {
      if (fail) throw new Error(`cannot load ${dir}`);
      return FakeBackend.loader(made)(dir);
    });
    await pool.apply({ id: 'd1', production: 'v1', canary: null, shadow: null }, [src('v1')]);
    fail = true;
    await assert.rejects(pool.apply({ id: 'd2', production: 'v2', canary: { version: 'v1', weight: 0.1 }, shadow: null }, [src('v1'), src('v2')]), /cannot load v2/);
    assert.equal(pool.deployment().id, 'd1');
    assert.deepEqual(pool.servableVersions(), ['v1']);
    assert.equal(made[0]!.closed, false);
  });

  it('keeps an engine that stays deployed (production → canary) without reloading it', async () => {
    const made: FakeBackend[] = [];
    const pool = new ModelPool(FakeBackend.loader(made));
    await pool.apply({ id: 'd1', production: 'v1', canary: null, shadow: null }, [src('v1')]);
    await pool.apply({ id: 'd2', production: 'v1', canary: { version: 'v2', weight: 0.2 }, shadow: 'v3' }, [src('v1'), src('v2'), src('v3')]);
    assert.deepEqual(made.map((m) => m.version), ['v1', 'v2', 'v3']);
    assert.deepEqual(pool.servableVersions().sort(), ['v1', 'v2', 'v3']);
    await pool.close();
  });

  it('reloads a version whose engine died, and only while it is deployed', async () => {
    const made: FakeBackend[] = [];
    let failLoads = 0;
    const events: string[] = [];
    const pool = new ModelPool(
      async (dir) => {
        if (failLoads > 0) {
          failLoads--;
          throw new Error(`cannot load ${dir} right now`);
        }
        return FakeBackend.loader(made)(dir);
      },
      (msg) => events.push(msg),
    );
    await pool.apply({ id: 'd1', production: 'v1', canary: { version: 'v2', weight: 0.5 }, shadow: null }, [src('v1'), src('v2')]);
    const first = pool.acquire('v1');
    first.release();

    failLoads = 1; // the first reload attempt fails; the next one (after 500 ms) succeeds
    made[0]!.die();
    const t0 = Date.now();
    while (pool.acquire('v1').backend === first.backend) {
      assert.ok(Date.now() - t0 < 60_000, 'v1 was not reloaded'); // a safety net, not a speed claim: the reload comes after a 500 ms backoff
      await new Promise((r) => setTimeout(r, 20));
    }
    const lease = pool.acquire('v1');
    const r = await lease.backend.generate({ prompt: [{ text: 'hi' }], maxTokens: 5, temperature: 1, topP: 1, seed: 1 });
    lease.release();
    assert.equal(r.completionTokens, 5);
    assert.deepEqual(events.filter((e) => e.startsWith('policy version re') || e.includes('failed')), ['policy version failed; reloading it', 'policy version reload failed; retrying', 'policy version reloaded']);

    // a retired version is not brought back
    await pool.apply({ id: 'd2', production: 'v1', canary: null, shadow: null }, [src('v1')]);
    await new Promise((r) => setTimeout(r, 10));
    const loadsBefore = made.length;
    made[1]!.die(); // v2, drained and closed
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(made.length, loadsBefore);
    await pool.close();
  });
});
