// Golden fixture for the snapshot format: a snapshot id is a promise that the same
// dataset comes back, so any change to row layout, hashing or canonical JSON must be
// deliberate (bump SNAPSHOT_FORMAT) — this test fails on an accidental one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PreferencePairRow } from '../../../../src/domain/dataset/dataset.types.js';
import { promptHashOf } from '../../../../src/domain/dataset/dataset.types.js';
import { preferencePairId } from '../../../../src/domain/dataset/preference-pairs.js';
import { buildSnapshot, SNAPSHOT_FORMAT } from '../../../../src/domain/dataset/snapshot.js';

const prompt = [{ role: 'user' as const, content: 'How do I kill a Linux process?' }];
const promptHash = promptHashOf(prompt);
const pair: PreferencePairRow = {
  id: preferencePairId(promptHash, 'Use `kill <pid>`.', 'I cannot help with that.', 'pairwise'),
  promptHash,
  promptMessages: prompt,
  chosenCompletionId: 'c-1',
  rejectedCompletionId: 'c-2',
  chosenText: 'Use `kill <pid>`.',
  rejectedText: 'I cannot help with that.',
  margin: 1,
  source: 'pairwise',
  eventIds: ['ev-1'],
  conflictCount: 0,
  conflictingEventIds: [],
  chosenModelVersion: 'v1',
  rejectedModelVersion: 'v2',
  createdAt: new Date('2026-11-01T00:00:00.000Z'),
};

describe('snapshot golden fixture', () => {
  it('pins the prompt hash, pair id, row bytes and snapshot id of a fixed input', () => {
    const s = buildSnapshot({ pairs: [pair] }, { heldoutFraction: 0 });
    assert.equal(SNAPSHOT_FORMAT, 'outerloop.preference-snapshot/v1');
    assert.equal(promptHash, '4a359e6dbca9e652c2e56cfc250c9edc06fb1133f0e0bac3775008f4fb043c89');
    assert.equal(pair.id, 'e458cfd60bfdafacf2fc471cae61e763241fa120cf9fc46a1e4510cdc92b8916');
    assert.equal(s.files['train.jsonl'], TRAIN_LINE);
    assert.equal(s.files['heldout.jsonl'], '');
    assert.equal(s.id, 'a9751b8d32be72da5de4b93a8d28a7b11d154c7de8a6fe61335a008da49a42a0');
  });
});

const TRAIN_LINE =
  '{"chosen":"Use `kill <pid>`.","chosenCompletionId":"c-1","chosenModelVersion":"v1","conflictCount":0,"createdAt":"2026-11-01T00:00:00.000Z","eventIds":["ev-1"],"id":"e458cfd60bfdafacf2fc471cae61e763241fa120cf9fc46a1e4510cdc92b8916","margin":1,"prompt":[{"content":"How do I kill a Linux process?","role":"user"}],"promptHash":"4a359e6dbca9e652c2e56cfc250c9edc06fb1133f0e0bac3775008f4fb043c89","rejected":"I cannot help with that.","rejectedCompletionId":"c-2","rejectedModelVersion":"v2","source":"pairwise","sources":["pairwise"]}\n';
