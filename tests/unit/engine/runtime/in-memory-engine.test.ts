// BatchEngine.fromParameters: an engine over weights in memory (PPO rollouts, evaluation
// of the weights being trained) must generate exactly what an engine loaded from the
// artifact of the same parameters generates — same tokens, same log-probs — because both
// run the same exported graphs on the same runtime (sampler, KV cache, scheduling).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BatchEngine, EngineThread, type GenerateParams, type GenerateResult } from '../../../../src/engine/runtime/index.js';
import { greedy, tinyArtifact } from './fixture.js';

describe('BatchEngine.fromParameters', () => {
  let fixture: Awaited<ReturnType<typeof tinyArtifact>>;
  let fromDisk: BatchEngine;
  let inMemory: BatchEngine;

  before(async () => {
    fixture = await tinyArtifact({ maxSeqLen: 48, seed: 7 });
    fromDisk = await BatchEngine.load(fixture.dir, { maxBatch: 4, intraOpThreads: 1 });
    inMemory = await BatchEngine.fromParameters(fixture.params, fixture.tokenizer, { maxBatch: 4, intraOpThreads: 1 });
  });
  after(async () => {
    await Promise.all([fromDisk?.close(), inMemory?.close()]);
  });

  it('describes the weights as their artifact would: same artifact id and tokenizer hash, no files', () => {
    assert.equal(inMemory.manifest.artifactId, fromDisk.manifest.artifactId);
    assert.equal(inMemory.manifest.tokenizerHash, fromDisk.manifest.tokenizerHash);
    assert.deepEqual(inMemory.manifest.config, fromDisk.manifest.config);
    assert.deepEqual(inMemory.manifest.files, {});
  });

  it('produces exactly the tokens and log-probs of the engine loaded from the artifact (greedy, sampled, batched)', async () => {
    const requests: GenerateParams[] = [
      greedy('How do I kill a process?', 20),
      greedy('fox', 20, { temperature: 0.9, topP: 0.95, seed: 11, topLogprobs: 3 }),
      greedy('Emoji 😀 café', 20, { temperature: 1.3, topP: 1, topK: 40, seed: 12 }),
      greedy('The', 20, { temperature: 0.7, topP: 0.5, seed: 13 }),
    ];
    // all four at once on each engine: the rows share decode steps as in serving
    const [disk, memory] = await Promise.all([Promise.all(requests.map((r) => fromDisk.generate(r))), Promise.all(requests.map((r) => inMemory.generate(r)))]);
    const summary = (r: GenerateResult) => ({ text: r.text, finishReason: r.finishReason, tokens: r.tokens.map((t) => [t.tokenId, t.logprob, t.topLogprobs ?? null]) });
    let generated = 0;
    for (let i = 0; i < requests.length; i++) {
      assert.deepEqual(summary(memory[i]!), summary(disk[i]!), `request ${i}`);
      generated += disk[i]!.completionTokens;
    }
    assert.ok(generated >= 40, `only ${generated} tokens generated: the comparison would be vacuous`);
  });

  it('copies the weights: training may change the parameters without changing a running engine', async () => {
    const params = fixture.params.clone();
    const engine = await BatchEngine.fromParameters(params, fixture.tokenizer, { maxBatch: 1, intraOpThreads: 1 });
    try {
      params.data.fill(0);
      const [a, b] = [await engine.generate(greedy('fox', 10)), await fromDisk.generate(greedy('fox', 10))];
      assert.deepEqual(a.tokens.map((t) => t.tokenId), b.tokens.map((t) => t.tokenId));
    } finally {
      await engine.close();
    }
  });
});

describe('EngineThread.fromParameters', () => {
  it('serves weights in memory on a worker: the same tokens and log-probs as the artifact, on this thread', async () => {
    const fixture = await tinyArtifact({ maxSeqLen: 48, seed: 8 });
    const params = fixture.params.clone();
    const [thread, disk] = await Promise.all([
      EngineThread.fromParameters(params, fixture.tokenizer, { maxBatch: 2, intraOpThreads: 1 }),
      BatchEngine.load(fixture.dir, { maxBatch: 2, intraOpThreads: 1 }),
    ]);
    try {
      params.data.fill(0); // the worker has its own copy
      assert.equal(thread.manifest.artifactId, disk.manifest.artifactId);
      const request = greedy('fox', 16, { temperature: 0.8, topP: 0.9, seed: 5, topLogprobs: 2 });
      const [a, b] = [await thread.generate(request), await disk.generate(request)];
      assert.ok(a.tokens.length >= 8, `only ${a.tokens.length} tokens`);
      assert.deepEqual(a.tokens, b.tokens);
      assert.equal(a.text, b.text);
    } finally {
      await Promise.all([thread.close(), disk.close()]);
    }
  });
});
