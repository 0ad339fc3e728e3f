// Tokenizing snapshot pairs for the RM: the chat template, left truncation of prompts
// (never of responses), the truncation report, and length-packed batches.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readArtifact } from '../../../../src/engine/artifact/artifact.js';
import { renderChatPrompt } from '../../../../src/engine/chat-template.js';
import type { BpeTokenizer } from '../../../../src/engine/tokenizer/bpe-tokenizer.js';
import { encodePreferencePairs, encodeResponse, packPairs, rewardBatch, type PreferenceRow } from '../../../../src/rlhf/reward/rm-data.js';
import { BASE_POLICY_DIR } from './support.js';

const row = (prompt: string, chosen: string, rejected: string, margin = 1): PreferenceRow => ({ promptHash: prompt, prompt: [{ role: 'user', content: prompt }], chosen, rejected, margin, source: 'rating' });

describe('reward-model data', () => {
  let tok: BpeTokenizer;
  before(async () => {
    tok = (await readArtifact(BASE_POLICY_DIR)).tokenizer;
  });

  it('renders with the chat template; a long prompt loses its LEFT end, the response is intact and reported', () => {
    const long = 'Tell me about Cora Vance. '.repeat(30);
    const { pairs, truncation } = encodePreferencePairs([row('What is 2 + 3?', 'It is 5.', 'It is 6.'), row(long, 'Cora Vance is a potter.', 'No idea.')], tok, 64);
    const full = tok.encodeSegments(renderChatPrompt([{ role: 'user', content: 'What is 2 + 3?' }]));
    assert.deepEqual([...pairs[0]!.chosen], [...full, ...encodeResponse(tok, 'It is 5.')]);
    const response = encodeResponse(tok, 'Cora Vance is a potter.');
    const c = pairs[1]!.chosen;
    assert.equal(c.length, 64);
    assert.deepEqual([...c.subarray(64 - response.length)], response, 'the response, end marker included, is the row’s end');
    const prompt = tok.encodeSegments(renderChatPrompt([{ role: 'user', content: long }]));
    assert.deepEqual([...c.subarray(0, 64 - response.length)], prompt.slice(prompt.length - (64 - response.length)), 'the prompt keeps its right end (the assistant marker)');
    assert.equal(truncation.promptsTruncated, 1);
    assert.equal(truncation.promptTokensCut, prompt.length - (64 - Math.max(response.length, encodeResponse(tok, 'No idea.').length)));
  });

  it('drops a pair whose response alone does not fit, and counts it', () => {
    const { pairs, truncation } = encodePreferencePairs([row('Hi?', 'word '.repeat(80), 'short')], tok, 64);
    assert.equal(pairs.length, 0);
    assert.equal(truncation.droppedResponseTooLong, 1);
  });

  it('batches: chosen rows then rejected rows, padded only to the batch’s longest row; margins scaled', () => {
    const rows = Array.from({ length: 40 }, (_, i) => row(`What is ${i} + 1?`, `It is ${i + 1}.`, i % 2 ? 'I think it might be a number, but I am not sure at all, sorry.' : 'No.', 2));
    const { pairs } = encodePreferencePairs(rows, tok, 256);
    const batches = packPairs(pairs, Int32Array.from(pairs.keys()), { maxTokens: 512, seed: 1 });
    assert.deepEqual(batches.flat().sort((a, b) => a - b), [...pairs.keys()], 'every pair once per epoch');
    for (const b of batches) {
      const longest = Math.max(...b.map((i) => Math.max(pairs[i]!.chosen.length, pairs[i]!.rejected.length)));
      assert.ok(2 * b.length * longest <= 512);
      assert.ok(longest < 64, `a short pair is not padded to the context (${longest})`);
    }
    const batch = rewardBatch(batches[0]!.map((i) => pairs[i]!), tok.specialId('<|pad|>'), 0.5);
    const B = batches[0]!.length;
    const tokens = batch.tokens as { data: BigInt64Array; shape: number[] };
    assert.equal(tokens.shape[0], 2 * B);
    const lengths = (batch.lengths as { data: BigInt64Array }).data;
    assert.equal(Number(lengths[0]), pairs[batches[0]![0]!]!.chosen.length);
    assert.equal(Number(lengths[B]), pairs[batches[0]![0]!]!.rejected.length);
    assert.deepEqual([...(batch.margin as { data: Float32Array }).data], new Array(B).fill(1));
  });
});
