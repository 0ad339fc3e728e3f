import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionQueue } from '../../../../../src/services/gateway/admission/admission-queue.js';
import { GatewayError } from '../../../../../src/services/gateway/errors.js';

describe('AdmissionQueue', () => {
  it('admits up to capacity, queues FIFO up to maxWaiting, then refuses with 429 + Retry-After', async () => {
    const q = new AdmissionQueue({ maxConcurrent: 2, maxWaiting: 2, retryAfterSeconds: 3 });
    const r1 = await q.acquire(1);
    const r2 = await q.acquire(1);
    const order: string[] = [];
    const w1 = q.acquire(1).then((r) => (order.push('w1'), r));
    const w2 = q.acquire(1).then((r) => (order.push('w2'), r));
    assert.equal(q.waiting, 2);
    await assert.rejects(q.acquire(1), (e: GatewayError) => e.status === 429 && e.retryAfterSeconds === 3 && e.retriable);
    r1();
    const a = await w1;
    r2();
    const b = await w2;
    assert.deepEqual(order, ['w1', 'w2']);
    assert.equal(q.activeSlots, 2);
    a();
    b();
    assert.equal(q.activeSlots, 0);
  });

  it('a request that gives up while waiting leaves the queue; n slots are taken together', async () => {
    const q = new AdmissionQueue({ maxConcurrent: 2, maxWaiting: 4, retryAfterSeconds: 1 });
    const held = await q.acquire(2);
    const ctrl = new AbortController();
    const gone = q.acquire(1, ctrl.signal);
    const pair = q.acquire(2);
    ctrl.abort(new Error('client left'));
    await assert.rejects(gone, /client left/);
    assert.equal(q.waiting, 1);
    held();
    const r = await pair;
    assert.equal(q.activeSlots, 2);
    assert.equal(q.tryAcquire(1), null, 'no free slot for shadow traffic');
    r();
    const shadow = q.tryAcquire(1);
    assert.ok(shadow);
    shadow();
    await assert.rejects(q.acquire(3), (e: GatewayError) => e.status === 400 && e.param === 'n');
  });
});
