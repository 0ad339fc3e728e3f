import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarizeWindowFeedback, type WindowFeedback } from '../../../../src/domain/dataset/statistics.js';

const event = (over: Partial<WindowFeedback>): WindowFeedback => ({ type: 'thumbs', value: 1, userId: 'alice', apiKeyId: null, modelVersion: 'v1', ...over });

describe('summarizeWindowFeedback', () => {
  it('counts events by type, collects thumbs with their model version, counts pairwise ties', () => {
    const s = summarizeWindowFeedback(
      [
        event({ value: 1 }),
        event({ value: -1, modelVersion: 'v2' }),
        event({ type: 'pairwise', value: 0 }),
        event({ type: 'pairwise', value: 1 }),
        event({ type: 'edit', value: null }),
        event({ type: 'thumbs', value: null }),
      ],
      new Set(),
    );
    assert.deepEqual(s.byType, { thumbs: 3, pairwise: 2, edit: 1 });
    assert.deepEqual(s.thumbs, [{ modelVersion: 'v1', value: 1 }, { modelVersion: 'v2', value: -1 }]);
    assert.equal(s.pairwiseTies, 1);
  });

  it('leaves out flagged labellers, by user id or, without one, by API key', () => {
    const s = summarizeWindowFeedback(
      [event({ userId: 'troll' }), event({ userId: null, apiKeyId: 'bot' }), event({ userId: null, apiKeyId: 'ok-key' }), event({ userId: null })],
      new Set(['user:troll', 'key:bot']),
    );
    assert.deepEqual(s.byType, { thumbs: 2 }, 'the unflagged key and the anonymous event remain');
  });
});
