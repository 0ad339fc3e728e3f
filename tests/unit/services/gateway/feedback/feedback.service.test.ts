import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { FeedbackMetrics, FeedbackService } from '../../../../../src/services/gateway/feedback/feedback.service.js';
import { completionOwnerOf, LayeredCompletionDirectory, RecentCompletionIndex, type CompletionDirectory, type CompletionOwner } from '../../../../../src/services/gateway/feedback/completion-directory.js';
import { GatewayError } from '../../../../../src/services/gateway/errors.js';
import { BusUnavailableError, type BusRecord, type EventBus } from '../../../../../src/platform/messaging/event-bus.js';
import { Topic, validateEvent } from '../../../../../src/platform/messaging/events.js';

type Rec = BusRecord<typeof Topic.feedback>;

/** A logged completion: its owner key, the comparison it belongs to and the prompt it answered. */
function owner(completionId: string, apiKeyId: string | null, o: { comparisonId?: string; prompt?: string } = {}): CompletionOwner {
  return completionOwnerOf({ completionId, apiKeyId, comparisonId: o.comparisonId ?? null, messages: [{ role: 'user', content: o.prompt ?? 'the prompt' }] });
}

function setup(opts: { failWith?: Error } = {}) {
  const published: Rec[] = [];
  const bus = {
    publish: async (topic: string, records: Rec[]) => {
      assert.equal(topic, Topic.feedback);
      if (opts.failWith) throw opts.failWith;
      published.push(...records);
    },
  } as unknown as Pick<EventBus, 'publish'>;
  const recent = new RecentCompletionIndex(10);
  recent.remember(owner('mine-1', 'key-a'));
  recent.remember(owner('mine-2', 'key-a'));
  recent.remember(owner('theirs', 'key-b'));
  recent.remember(owner('open', null));
  const registry = new Registry();
  const service = new FeedbackService(bus, recent, new FeedbackMetrics(registry), () => new Date('2026-03-01T00:00:00Z'));
  return { service, published, registry };
}

const caller = { apiKeyId: 'key-a', userId: null };

async function expectGatewayError(p: Promise<unknown>, status: number, param: string | null): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof GatewayError, `expected GatewayError, got ${String(err)}`);
    assert.equal(err.status, status, err.message);
    assert.equal(err.param, param);
    return err;
  }
  assert.fail(`expected a ${status} error`);
}

test('an accepted event is on the bus, keyed by completion id, valid for the topic', async () => {
  const { service, published } = setup();
  const r = await service.submit(caller, { completion_id: 'mine-1', type: 'rating', value: 4, event_id: 'e1' });
  assert.equal(r.event_ids.length, 1);
  assert.equal(published.length, 1);
  assert.equal(published[0]!.key, 'mine-1');
  assert.equal(published[0]!.value.eventId, r.event_ids[0]);
  assert.equal(published[0]!.value.apiKeyId, 'key-a');
  assert.ok(validateEvent(Topic.feedback, published[0]!.value).ok);
  // a replay with the same client event id yields the same server id
  const again = await service.submit(caller, { completion_id: 'mine-1', type: 'rating', value: 4, event_id: 'e1' });
  assert.deepEqual(again.event_ids, r.event_ids);
});

test('unknown completion → 404 naming the field; another key\'s completion → 403; nothing published', async () => {
  const { service, published } = setup();
  await expectGatewayError(service.submit(caller, { completion_id: 'nope', type: 'thumbs', value: 'up' }), 404, 'completion_id');
  await expectGatewayError(service.submit(caller, { completion_id: 'theirs', type: 'thumbs', value: 'up' }), 403, 'completion_id');
  await expectGatewayError(
    service.submit(caller, { completion_id: 'mine-1', other_completion_id: 'theirs', type: 'pairwise', value: 1 }),
    403,
    'other_completion_id',
  );
  assert.equal(published.length, 0);
  // completions served without auth belong to nobody: any caller may rate them
  await service.submit(caller, { completion_id: 'open', type: 'thumbs', value: 'down' });
  assert.equal(published.length, 1);
});

test('pairwise: both completions answer one prompt — the same comparison, or separate answers to identical messages; 400 naming other_completion_id otherwise', async () => {
  const { service, published } = setup();
  const recent = (service as unknown as { completions: RecentCompletionIndex }).completions;
  recent.remember(owner('cmp-a', 'key-a', { comparisonId: 'cmp_1', prompt: 'q' }));
  recent.remember(owner('cmp-b', 'key-a', { comparisonId: 'cmp_1', prompt: 'q' }));
  recent.remember(owner('cmp-c', 'key-a', { comparisonId: 'cmp_2', prompt: 'q' }));
  recent.remember(owner('solo-q', 'key-a', { prompt: 'q' }));
  recent.remember(owner('solo-q2', 'key-a', { prompt: 'q' }));
  recent.remember(owner('solo-other', 'key-a', { prompt: 'an unrelated request' }));
  await service.submit(caller, { completion_id: 'cmp-a', other_completion_id: 'cmp-b', type: 'pairwise', value: 'this' });
  await service.submit(caller, { completion_id: 'solo-q', other_completion_id: 'solo-q2', type: 'pairwise', value: 'other' });
  assert.equal(published.length, 2);
  for (const other of ['cmp-c', 'solo-q', 'solo-other']) {
    const e = await expectGatewayError(service.submit(caller, { completion_id: 'cmp-a', other_completion_id: other, type: 'pairwise', value: 1 }), 400, 'other_completion_id');
    assert.equal(e.code, 'completions_not_comparable');
  }
  const e = await expectGatewayError(service.submit(caller, { completion_id: 'solo-q', other_completion_id: 'solo-other', type: 'pairwise', value: 1 }), 400, 'other_completion_id');
  assert.match(e.message, /different prompts/);
  assert.equal(published.length, 2, 'nothing published for a refused pair');
});

test('invalid body → 400 naming the field', async () => {
  const { service } = setup();
  const e = await expectGatewayError(service.submit(caller, { completion_id: 'mine-1', type: 'rating', value: 9 }), 400, 'value');
  assert.equal(e.type, 'invalid_request_error');
});

test('bus unavailable → 503 with Retry-After, never an acknowledgement', async () => {
  const { service, registry } = setup({ failWith: new BusUnavailableError('no broker') });
  const e = await expectGatewayError(service.submit(caller, { completion_id: 'mine-1', type: 'thumbs', value: 1 }), 503, null);
  assert.equal(e.retryAfterSeconds, 1);
  const rejected = await registry.getSingleMetricAsString('outerloop_feedback_rejected_total');
  assert.match(rejected, /reason="bus_unavailable"} 1/);
});

test('batch is all-or-nothing and errors point at the item', async () => {
  const { service, published } = setup();
  const ok = await service.submitBatch(caller, {
    events: [
      { completion_id: 'mine-1', type: 'thumbs', value: 'up' },
      { completion_id: 'mine-2', type: 'edit', edited_response: 'fixed' },
      { completion_id: 'mine-1', other_completion_id: 'mine-2', type: 'pairwise', value: 'tie' },
    ],
  });
  assert.equal(ok.event_ids.length, 3);
  assert.equal(new Set(ok.event_ids).size, 3);
  assert.deepEqual(published.map((r) => r.value.eventId), ok.event_ids);

  await expectGatewayError(
    service.submitBatch(caller, { events: [{ completion_id: 'mine-1', type: 'thumbs', value: 1 }, { completion_id: 'mine-1', type: 'thumbs', value: 2 }] }),
    400,
    'events[1].value',
  );
  await expectGatewayError(
    service.submitBatch(caller, { events: [{ completion_id: 'mine-1', type: 'thumbs', value: 1 }, { completion_id: 'gone', type: 'thumbs', value: 1 }] }),
    404,
    'events[1].completion_id',
  );
  await expectGatewayError(service.submitBatch(caller, { events: [] }), 400, 'events');
  const bare = await service.submitBatch(caller, [{ completion_id: 'mine-2', type: 'rating', value: '5' }]);
  assert.equal(bare.event_ids.length, 1);
  assert.equal(published.at(-1)!.value.value, 5);
  published.pop();
  const tooMany = Array.from({ length: 1001 }, () => ({ completion_id: 'mine-1', type: 'thumbs', value: 1 }));
  const e = await expectGatewayError(service.submitBatch(caller, { events: tooMany }), 400, 'events');
  assert.match(e.message, /at most 1000/);
  assert.equal(published.length, 3);
});

test('recent index is a bounded LRU and the layered directory falls back to the store for misses only', async () => {
  const recent = new RecentCompletionIndex(2);
  recent.remember(owner('a', 'k'));
  recent.remember(owner('b', 'k'));
  recent.remember(owner('c', 'k'));
  assert.equal(recent.size, 2);
  assert.deepEqual([...(await recent.lookup(['a', 'b', 'c'])).keys()], ['b', 'c']);
  const asked: string[][] = [];
  const store: CompletionDirectory = {
    lookup: async (ids) => {
      asked.push([...ids]);
      return new Map(ids.filter((id) => id === 'a').map((id) => [id, owner(id, 'k2')]));
    },
  };
  const layered = new LayeredCompletionDirectory(recent, store);
  const found = await layered.lookup(['a', 'b', 'z']);
  assert.deepEqual(asked, [['a', 'z']]);
  assert.equal(found.get('a')?.apiKeyId, 'k2');
  assert.equal(found.get('b')?.apiKeyId, 'k');
  assert.equal(found.has('z'), false);
  // the store hit is now served from memory; the miss is asked again
  await layered.lookup(['a', 'z']);
  assert.deepEqual(asked, [['a', 'z'], ['z']]);
});

test('LayeredCompletionDirectory: concurrent misses share one store query per event-loop turn; an id in flight is not asked twice', async () => {
  const recent = new RecentCompletionIndex(100);
  recent.remember(owner('known', 'k'));
  const asked: string[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const store: CompletionDirectory = {
    lookup: async (ids) => {
      asked.push([...ids]);
      await gate;
      return new Map(ids.filter((id) => id !== 'missing').map((id) => [id, owner(id, `owner-of-${id}`)]));
    },
  };
  const layered = new LayeredCompletionDirectory(recent, store);
  // three requests in the same turn: one query for the union of their misses
  const first = [layered.lookup(['a', 'known']), layered.lookup(['b', 'a']), layered.lookup(['missing'])];
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(asked, [['a', 'b', 'missing']]);
  // a later request for an id whose query is still running waits for it; a new id gets its own query
  const later = layered.lookup(['b', 'c']);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(asked, [['a', 'b', 'missing'], ['c']]);
  release();
  const [r1, r2, r3] = await Promise.all(first);
  assert.deepEqual([...r1!.entries()].sort(), [['a', owner('a', 'owner-of-a')], ['known', owner('known', 'k')]]);
  assert.equal(r2!.get('b')?.apiKeyId, 'owner-of-b');
  assert.equal(r2!.get('a')?.apiKeyId, 'owner-of-a');
  assert.equal(r3!.size, 0);
  assert.deepEqual([...(await later).keys()].sort(), ['b', 'c']);
  // hits are remembered, misses are asked again next time
  await layered.lookup(['a', 'b', 'c', 'missing']);
  assert.deepEqual(asked.at(-1), ['missing']);
  assert.equal(asked.length, 3);
});

test('LayeredCompletionDirectory: a failed store query fails every request waiting on it, and the next lookup asks again', async () => {
  let fail = true;
  const store: CompletionDirectory = {
    lookup: async (ids) => {
      if (fail) throw GatewayError.unavailable('completion lookup failed: connection refused', 1, 'completion_store_unavailable');
      return new Map(ids.map((id) => [id, owner(id, null)]));
    },
  };
  const layered = new LayeredCompletionDirectory(new RecentCompletionIndex(10), store);
  const results = await Promise.allSettled([layered.lookup(['x']), layered.lookup(['x', 'y'])]);
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    assert.equal((r as PromiseRejectedResult).reason.status, 503);
  }
  fail = false;
  assert.deepEqual([...(await layered.lookup(['x', 'y'])).keys()].sort(), ['x', 'y']);
});
