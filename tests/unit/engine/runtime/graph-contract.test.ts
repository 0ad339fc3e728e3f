// The engine core's serving graphs (gpt/inference-graphs.ts) against the independent
// reference of the same contract: the BatchEngine must produce the same tokens and
// log-probabilities on either, for the same weights.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { BatchEngine, type GenerateParams } from '../../../../src/engine/runtime/index.js';
import { referenceInferenceGraphs } from './reference-inference-graphs.js';
import { tinyArtifact } from './fixture.js';

describe('serving graphs follow the prefill/decode contract', () => {
  const engines: BatchEngine[] = [];
  after(async () => {
    for (const e of engines) await e.close();
  });

  it('engine-core graphs and reference graphs generate identically (greedy and seeded)', async () => {
    const core = await tinyArtifact({ seed: 5 });
    const ref = await tinyArtifact({ seed: 5, exporter: referenceInferenceGraphs });
    const a = await BatchEngine.load(core.dir, { maxBatch: 3, intraOpThreads: 1 });
    const b = await BatchEngine.load(ref.dir, { maxBatch: 3, intraOpThreads: 1 });
    engines.push(a, b);
    assert.equal(a.manifest.artifactId, b.manifest.artifactId, 'same weights');
    const requests: GenerateParams[] = [
      { prompt: [{ special: '<|user|>' }, { text: 'How do I kill a process?' }, { special: '<|assistant|>' }], maxTokens: 20, temperature: 0, topP: 1, topLogprobs: 3 },
      { prompt: [{ text: 'The quick brown' }], maxTokens: 20, temperature: 0.9, topP: 0.95, seed: 3 },
      { prompt: [{ text: 'x' }], maxTokens: 40, temperature: 0, topP: 1 },
    ];
    const ra = await Promise.all(requests.map((r) => a.generate(r)));
    const rb = await Promise.all(requests.map((r) => b.generate(r)));
    for (let i = 0; i < requests.length; i++) {
      assert.deepEqual(ra[i].tokens.map((t) => t.tokenId), rb[i].tokens.map((t) => t.tokenId), `request ${i}`);
      ra[i].tokens.forEach((t, j) => assert.ok(Math.abs(t.logprob - rb[i].tokens[j].logprob) < 1e-3, `request ${i} token ${j}: ${t.logprob} vs ${rb[i].tokens[j].logprob}`));
    }
  });
});
