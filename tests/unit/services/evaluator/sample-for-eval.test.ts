// Sampling for evaluation is seeded: the same artifact and seeds give the same samples
// and therefore the same metrics, however the engine batches the rows. The scoring
// graph's log-probs of a response are the ones the engine sampled it with (T = 1).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readArtifact, type LoadedArtifact } from '../../../../src/engine/artifact/artifact.js';
import { renderChatPrompt } from '../../../../src/engine/chat-template.js';
import { BatchEngine } from '../../../../src/engine/runtime/batch-engine.js';
import { EvaluationInputError, evaluateSamples } from '../../../../src/evaluation/index.js';
import { ResponseLogprobScorer, attachKlLogprobs, sampleForEval } from '../../../../src/evaluation/sampling/index.js';
import { scenarioSuites } from '../../../../src/scenario/eval-suites.js';
import { BASE_POLICY_DIR, neverStoppingCopy } from './damaged-policy.js';

describe('sampleForEval', () => {
  let base: LoadedArtifact;
  let wide: BatchEngine;
  let narrow: BatchEngine;
  const suite = scenarioSuites().find((s) => s.name === 'extrinsic')!;
  const prompts = suite.promptSet.prompts.slice(0, 10);
  const opts = { seeds: [1, 2], maxTokens: 24, temperature: 1 };

  before(async () => {
    base = await readArtifact(BASE_POLICY_DIR);
    wide = await BatchEngine.fromParameters(base.params, base.tokenizer, { maxBatch: 32, intraOpThreads: 1 });
    narrow = await BatchEngine.fromParameters(base.params, base.tokenizer, { maxBatch: 3, intraOpThreads: 1 });
  });
  after(async () => {
    await wide?.close();
    await narrow?.close();
  });

  it('the same artifact and seeds give identical samples and identical metrics, whatever the batching', async () => {
    const a = await sampleForEval(wide, base.tokenizer, prompts, opts);
    const b = await sampleForEval(narrow, base.tokenizer, prompts, opts);
    assert.equal(a.length, 20);
    assert.deepEqual(a.map((s) => [s.promptId, s.seed]), prompts.flatMap((p) => [[p.id, 1], [p.id, 2]]));
    assert.deepEqual(b, a);
    // two seeds of one prompt are two different draws
    assert.ok(a.some((s, i) => i % 2 === 0 && s.response !== a[i + 1]!.response), 'seeds 1 and 2 gave the same answer on every prompt');
    const partial = { ...suite, promptSet: { ...suite.promptSet, prompts } };
    const ma = await evaluateSamples(partial, a, { seed: 5, resamples: 200 });
    const mb = await evaluateSamples(partial, b, { seed: 5, resamples: 200 });
    assert.deepEqual(mb.metrics, ma.metrics);
  });

  it('the scoring graph gives the log-probs the engine sampled with, and KL 0 against itself', async () => {
    const [sample] = await sampleForEval(wide, base.tokenizer, prompts.slice(0, 1), { ...opts, seeds: [1] });
    const r = await wide.generate({ prompt: base.tokenizer.encodeSegments(renderChatPrompt([{ role: 'user', content: prompts[0]!.messages[0]!.content }])), maxTokens: 24, temperature: 1, topP: 1, seed: 0 });
    const scorer = await ResponseLogprobScorer.create(base.params, { intraOpThreads: 1 });
    const direct = { promptId: 'x', seed: 0, response: r.text, tokens: r.tokens.length, tokenIds: r.tokens.map((t) => t.tokenId), promptTokenIds: sample!.promptTokenIds };
    const [lp] = await scorer.score(base.params, [direct]);
    assert.equal(lp!.length, r.tokens.length);
    const maxdiff = Math.max(...r.tokens.map((t, i) => Math.abs(t.logprob - lp![i]!)));
    assert.ok(maxdiff < 2e-3, `maxdiff ${maxdiff}`);
    const [self] = await attachKlLogprobs(scorer, base.params, base.params, [sample!]);
    assert.deepEqual(self!.logprobs, self!.refLogprobs);
    const [other] = await attachKlLogprobs(scorer, neverStoppingCopy(base), base.params, [sample!]);
    assert.notDeepEqual(other!.logprobs, other!.refLogprobs);
  });

  it('refuses bad options, naming the field', async () => {
    await assert.rejects(sampleForEval(wide, base.tokenizer, prompts, { ...opts, seeds: [1, 1] }), (e: unknown) => e instanceof EvaluationInputError && e.field === 'seeds');
    await assert.rejects(sampleForEval(wide, base.tokenizer, prompts, { ...opts, seeds: [] }), (e: unknown) => e instanceof EvaluationInputError && e.field === 'seeds');
    await assert.rejects(sampleForEval(wide, base.tokenizer, prompts, { ...opts, maxTokens: 0 }), (e: unknown) => e instanceof EvaluationInputError && e.field === 'maxTokens');
    await assert.rejects(sampleForEval(wide, base.tokenizer, [{ id: 'p', messages: [{ role: 'robot', content: 'hi' }] }], opts), (e: unknown) => e instanceof EvaluationInputError && e.field === 'prompts[0].messages[0].role');
  });
});
