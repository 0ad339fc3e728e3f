// The consumer-side delivery core shared by the Kafka and embedded adapters: what
// reaches the handler, what is dead-lettered with which reason, and when a batch
// counts as done (the caller commits) or not (the caller must not commit).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Logger } from '../../../../src/platform/logging/logger.js';
import {
  backoffDelay,
  chunk,
  type DeliveryContext,
  deliverBatch,
  encodeForPublish,
  InvalidEventError,
  parseDeadLetter,
  type RawRecord,
} from '../../../../src/platform/messaging/delivery.js';
import { BusUnavailableError, RetriableHandlerError, type BatchHandler } from '../../../../src/platform/messaging/event-bus.js';
import { Topic, type DeadLetter } from '../../../../src/platform/messaging/events.js';

const FB = Topic.feedback;

function thumbs(eventId: string, value: number = 1) {
  return { v: 1, eventId, completionId: `c-${eventId}`, type: 'thumbs', value, userId: null, apiKeyId: null, createdAt: '2026-01-01T00:00:00Z' };
}

function rec(offset: number, value: unknown, key = 'k'): RawRecord {
  return { key, raw: typeof value === 'string' ? value : JSON.stringify(value), partition: 0, offset: String(offset) };
}

function context(handler: BatchHandler<typeof FB>, overrides: Partial<DeliveryContext<typeof FB>> = {}) {
  const letters: DeadLetter[] = [];
  const ctx: DeliveryContext<typeof FB> = {
    topic: FB,
    handler,
    logger: new Logger('delivery-test'),
    deadLetter: async (l) => void letters.push(...l),
    shouldContinue: () => true,
    backoff: { initialMs: 1, maxMs: 4 },
    ...overrides,
  };
  return { ctx, letters };
}

describe('deliverBatch', () => {
  it('dead-letters invalid JSON and schema violations with the reason and the raw bytes; the handler sees only valid events', async () => {
    const seen: string[] = [];
    const { ctx, letters } = context(async (batch) => void seen.push(...batch.map((m) => m.value.eventId)));
    const done = await deliverBatch(ctx, [rec(1, thumbs('a')), rec(2, '{oops'), rec(3, thumbs('b', 4)), { key: null, raw: null, partition: 0, offset: '4' }, rec(5, thumbs('c'))]);
    assert.equal(done, true);
    assert.deepEqual(seen, ['a', 'c']);
    assert.deepEqual(letters.map((l) => l.offset), ['2', '3', '4']);
    assert.match(letters[0]!.reason, /^invalid JSON: /);
    assert.equal(letters[0]!.raw, '{oops');
    assert.equal(letters[1]!.reason, 'schema violation: value: thumbs value must be 1 (up) or -1 (down)');
    assert.equal(letters[2]!.reason, 'empty message (null value)');
    assert.equal(letters[0]!.sourceTopic, FB);
    assert.equal(letters[0]!.partition, 0);
  });

  it('retries a retriable handler error on the same batch until it succeeds', async () => {
    let calls = 0;
    const batches: string[][] = [];
    const { ctx, letters } = context(async (batch) => {
      calls++;
      batches.push(batch.map((m) => m.value.eventId));
      if (calls < 4) throw new RetriableHandlerError('db down');
    });
    assert.equal(await deliverBatch(ctx, [rec(1, thumbs('a')), rec(2, thumbs('b'))]), true);
    assert.equal(calls, 4);
    assert.deepEqual(batches, [['a', 'b'], ['a', 'b'], ['a', 'b'], ['a', 'b']], 'the same batch, nothing skipped');
    assert.equal(letters.length, 0);
  });

  it('treats any error with retriable=true (e.g. DatabaseConnectError) as retriable', async () => {
    let calls = 0;
    const { ctx, letters } = context(async () => {
      if (++calls < 6) throw Object.assign(new Error('ECONNREFUSED'), { retriable: true });
    });
    assert.equal(await deliverBatch(ctx, [rec(1, thumbs('a'))]), true);
    assert.equal(calls, 6, 'more attempts than the non-retriable limit');
    assert.equal(letters.length, 0);
  });

  it('returns false without dead-lettering when stopped during retries (the caller must not commit)', async () => {
    let calls = 0;
    let running = true;
    const { ctx, letters } = context(
      async () => {
        calls++;
        if (calls === 2) running = false;
        throw new RetriableHandlerError('db down');
      },
      { shouldContinue: () => running },
    );
    assert.equal(await deliverBatch(ctx, [rec(1, thumbs('a'))]), false);
    assert.equal(calls, 2);
    assert.equal(letters.length, 0);
  });

  it('isolates a poison message: a non-retriable failure splits the batch and dead-letters only the culprit', async () => {
    const handled: string[] = [];
    const { ctx, letters } = context(
      async (batch) => {
        if (batch.some((m) => m.value.eventId === 'poison')) throw new TypeError('cannot read x of undefined');
        handled.push(...batch.map((m) => m.value.eventId));
      },
      { maxNonRetriableAttempts: 2 },
    );
    const raw = JSON.stringify(thumbs('poison'));
    assert.equal(await deliverBatch(ctx, [rec(1, thumbs('a')), rec(2, raw), rec(3, thumbs('b'))]), true);
    assert.deepEqual(handled, ['a', 'b']);
    assert.equal(letters.length, 1);
    assert.equal(letters[0]!.offset, '2');
    assert.equal(letters[0]!.raw, raw, 'the letter carries the bytes as received');
    assert.match(letters[0]!.reason, /^handler failed: TypeError: cannot read x of undefined/);
  });

  it('dead-letters the messages a handler rejects, with its reason; ignores offsets not in the batch', async () => {
    const { ctx, letters } = context(async (batch) => ({
      rejected: [
        { partition: 0, offset: batch[1]!.offset, reason: 'unknown completion' },
        { partition: 0, offset: '999', reason: 'not in batch' },
      ],
    }));
    assert.equal(await deliverBatch(ctx, [rec(1, thumbs('a')), rec(2, thumbs('b')), rec(3, thumbs('c'))]), true);
    assert.deepEqual(letters.map((l) => [l.offset, l.reason]), [['2', 'rejected by handler: unknown completion']]);
  });

  it('keeps retrying a failing DLQ write (the batch is not done until the letter is durable)', async () => {
    let writes = 0;
    const { ctx } = context(async () => undefined, {
      deadLetter: async () => {
        if (++writes < 3) throw new BusUnavailableError('broker down');
      },
    });
    assert.equal(await deliverBatch(ctx, [rec(1, 'nope')]), true);
    assert.equal(writes, 3);
  });
});

describe('encodeForPublish', () => {
  it('applies schema defaults and serializes', () => {
    const [m] = encodeForPublish(FB, [{ key: 'k', value: thumbs('a') }]);
    assert.equal(m!.key, 'k');
    assert.deepEqual(JSON.parse(m!.value), { ...thumbs('a'), otherCompletionId: null, editedResponse: null, comment: null });
  });

  it('throws a non-retriable InvalidEventError naming the record and the field', () => {
    assert.throws(
      () => encodeForPublish(FB, [{ key: 'k', value: thumbs('a') }, { key: 'k', value: { ...thumbs('b'), type: 'rating', value: 9 } }]),
      (err: unknown) => err instanceof InvalidEventError && err.retriable === false && /records\[1\]: value: rating value must be an integer 1\.\.5/.test(err.message),
    );
    assert.throws(() => encodeForPublish(FB, [{ key: '', value: thumbs('a') }]), /records\[0\]: key: must be a non-empty string/);
  });
});

describe('helpers', () => {
  it('backoffDelay grows exponentially within [ceiling/2, ceiling] and is capped', () => {
    const p = { initialMs: 100, maxMs: 1000 };
    for (let i = 0; i < 200; i++) {
      const d1 = backoffDelay(p, 1);
      const d3 = backoffDelay(p, 3);
      const d10 = backoffDelay(p, 10);
      assert.ok(d1 >= 50 && d1 <= 100, `attempt 1: ${d1}`);
      assert.ok(d3 >= 200 && d3 <= 400, `attempt 3: ${d3}`);
      assert.ok(d10 >= 500 && d10 <= 1000, `attempt 10: ${d10}`);
    }
  });

  it('chunk splits in order and rejects a bad size', () => {
    assert.deepEqual(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
    assert.throws(() => chunk([1], 0), /maxBatchSize must be a positive integer/);
  });

  it('parseDeadLetter accepts letters and refuses anything else', () => {
    const letter: DeadLetter = { v: 1, sourceTopic: FB, key: null, raw: 'x', reason: 'r', partition: 0, offset: '1', rejectedAt: '2026-01-01T00:00:00Z' };
    assert.deepEqual(parseDeadLetter(JSON.stringify(letter)), letter);
    assert.equal(parseDeadLetter('{"a":1}'), null);
    assert.equal(parseDeadLetter('not json'), null);
    assert.equal(parseDeadLetter(null), null);
  });
});
