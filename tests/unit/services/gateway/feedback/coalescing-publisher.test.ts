import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoalescingPublisher } from '../../../../../src/services/gateway/feedback/coalescing-publisher.js';
import { BusUnavailableError, type BusRecord, type EventBus } from '../../../../../src/platform/messaging/event-bus.js';
import { Topic } from '../../../../../src/platform/messaging/events.js';

type Rec = BusRecord<typeof Topic.feedback>;

/** A bus whose publishes settle only when the test says so. */
function manualBus() {
  const calls: Array<{ keys: string[]; resolve: () => void; reject: (e: unknown) => void }> = [];
  return {
    calls,
    bus: <Pick<EventBus, "publish">>(<unknown>{
      publish: (_topic: string, records: Rec[]) =>
        new Promise<void>((resolve, reject) => calls.push({ keys: records.map((r) => r.key), resolve, reject })),
    }),
  };
}

const rec = (key: string) => ({ key, value: {} }) as unknown as Rec;
const tick = () => new Promise((r) => setImmediate(r));

test('requests arriving while a publish is in flight go out together in one call', async () => {
  const { bus, calls } = manualBus();
  const p = new CoalescingPublisher(bus, Topic.feedback, { maxInFlight: 1 });
  const first = p.publish([rec('a')]);
  const rest = ['b', 'c', 'd'].map((k) => p.publish([rec(k)]));
  await tick();
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]!.keys, ['a']);
  assert.equal(p.backlog, 3);
  calls[0]!.resolve();
  await first;
  await tick();
  assert.equal(calls.length, 2);
  assert.deepEqual(calls[1]!.keys, ['b', 'c', 'd']);
  calls[1]!.resolve();
  await Promise.all(rest);
  assert.deepEqual(p.stats, { publishCalls: 2, records: 4 });
});

test('a failed publish rejects every request in it, and only those', async () => {
  const { bus, calls } = manualBus();
  const p = new CoalescingPublisher(bus, Topic.feedback, { maxInFlight: 1 });
  const a = p.publish([rec('a')]);
  const b = p.publish([rec('b')]);
  const c = p.publish([rec('c')]);
  await tick();
  calls[0]!.resolve();
  await a;
  await tick();
  calls[1]!.reject(new BusUnavailableError('broker down'));
  await assert.rejects(b, BusUnavailableError);
  await assert.rejects(c, BusUnavailableError);
  const d = p.publish([rec('d')]);
  await tick();
  assert.deepEqual(calls[2]!.keys, ['d']);
  calls[2]!.resolve();
  await d;
});

test('batches respect maxBatchRecords without splitting a request', async () => {
  const { bus, calls } = manualBus();
  const p = new CoalescingPublisher(bus, Topic.feedback, { maxInFlight: 1, maxBatchRecords: 3 });
  const first = p.publish([rec('x')]);
  const queued = [p.publish([rec('a'), rec('b')]), p.publish([rec('c'), rec('d')]), p.publish([rec('e')])];
  await tick();
  calls[0]!.resolve();
  await first;
  await tick();
  assert.deepEqual(calls[1]!.keys, ['a', 'b']);
  calls[1]!.resolve();
  await tick();
  await tick();
  assert.deepEqual(calls[2]!.keys, ['c', 'd', 'e']);
  calls[2]!.resolve();
  await Promise.all(queued);
});

test('with maxInFlight 2, two publishes overlap', async () => {
  const { bus, calls } = manualBus();
  const p = new CoalescingPublisher(bus, Topic.feedback, { maxInFlight: 2 });
  const all = ['a', 'b', 'c'].map((k) => p.publish([rec(k)]));
  await tick();
  // two slots: a and b go out at once (no linger when idle), c waits for a slot
  assert.deepEqual(calls.map((c) => c.keys), [['a'], ['b']]);
  assert.equal(p.backlog, 1);
  calls[1]!.resolve();
  await tick();
  assert.deepEqual(calls[2]!.keys, ['c']);
  calls[0]!.resolve();
  calls[2]!.resolve();
  await Promise.all(all);
});
