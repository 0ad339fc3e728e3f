import { test } from 'node:test';
import assert from 'node:assert/strict';
import { feedbackEventFromRequest, namespacedEventId } from '../../../../../src/services/gateway/feedback/feedback.request.js';

const caller = { apiKeyId: 'key-a', userId: null };
const now = new Date('2026-01-02T03:04:05.000Z');

function parse(body: unknown, prefix = '') {
  return feedbackEventFromRequest(body, caller, now, prefix);
}

test('thumbs "up"/"down" become +1/-1 and carry the caller key and time', () => {
  const up = parse({ completion_id: 'c1', type: 'thumbs', value: 'up', comment: 'nice' });
  assert.ok(up.ok);
  assert.equal(up.value.value, 1);
  assert.equal(up.value.completionId, 'c1');
  assert.equal(up.value.apiKeyId, 'key-a');
  assert.equal(up.value.comment, 'nice');
  assert.equal(up.value.createdAt, '2026-01-02T03:04:05.000Z');
  const down = parse({ completion_id: 'c1', type: 'thumbs', value: -1 });
  assert.ok(down.ok);
  assert.equal(down.value.value, -1);
});

test('pairwise accepts this/other/tie and needs a different other_completion_id', () => {
  const tie = parse({ completion_id: 'a', other_completion_id: 'b', type: 'pairwise', value: 'tie' });
  assert.ok(tie.ok);
  assert.equal(tie.value.value, 0);
  assert.equal(tie.value.otherCompletionId, 'b');
  const missing = parse({ completion_id: 'a', type: 'pairwise', value: 1 });
  assert.ok(!missing.ok);
  assert.equal(missing.error.param, 'other_completion_id');
  const same = parse({ completion_id: 'a', other_completion_id: 'a', type: 'pairwise', value: 1 });
  assert.ok(!same.ok);
  assert.equal(same.error.param, 'other_completion_id');
});

test('errors name the snake_case field, with the batch prefix', () => {
  const rating = parse({ completion_id: 'c', type: 'rating', value: 6 }, 'events[3].');
  assert.ok(!rating.ok);
  assert.equal(rating.error.param, 'events[3].value');
  assert.match(rating.error.message, /events\[3\]\.value: rating value must be an integer 1\.\.5/);

  const noId = parse({ type: 'thumbs', value: 1 });
  assert.ok(!noId.ok);
  assert.equal(noId.error.param, 'completion_id');

  const badType = parse({ completion_id: 'c', type: 'stars', value: 1 });
  assert.ok(!badType.ok);
  assert.equal(badType.error.param, 'type');

  const unknownKey = parse({ completion_id: 'c', type: 'thumbs', value: 1, thumbs: 'up' });
  assert.ok(!unknownKey.ok);
  assert.equal(unknownKey.error.param, 'thumbs');

  const edit = parse({ completion_id: 'c', type: 'edit' });
  assert.ok(!edit.ok);
  assert.equal(edit.error.param, 'edited_response');

  const notObject = parse([1, 2]);
  assert.ok(!notObject.ok);
  assert.equal(notObject.error.param, '(body)');
});

test('edit feedback carries the corrected response and a null value', () => {
  const r = parse({ completion_id: 'c', type: 'edit', edited_response: 'better answer', value: 3 });
  assert.ok(r.ok);
  assert.equal(r.value.editedResponse, 'better answer');
  assert.equal(r.value.value, null);
});

test('client event ids are deterministic per API key and never collide across keys', () => {
  const a1 = namespacedEventId('key-a', 'evt-1');
  assert.equal(a1, namespacedEventId('key-a', 'evt-1'));
  assert.notEqual(a1, namespacedEventId('key-b', 'evt-1'));
  assert.notEqual(a1, namespacedEventId('key-a', 'evt-2'));
  assert.notEqual(namespacedEventId(null, 'evt-1'), namespacedEventId('key-a', 'evt-1'));
  // boundary: ("ab","c") and ("a","bc") must not hash alike
  assert.notEqual(namespacedEventId('ab', 'c'), namespacedEventId('a', 'bc'));
  assert.match(a1, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

  const withId = parse({ completion_id: 'c', type: 'thumbs', value: 1, event_id: 'evt-1' });
  assert.ok(withId.ok);
  assert.equal(withId.value.eventId, a1);
  const fresh1 = parse({ completion_id: 'c', type: 'thumbs', value: 1 });
  const fresh2 = parse({ completion_id: 'c', type: 'thumbs', value: 1 });
  assert.ok(fresh1.ok && fresh2.ok);
  assert.notEqual(fresh1.value.eventId, fresh2.value.eventId);
});
