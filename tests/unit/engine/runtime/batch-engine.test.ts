import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import { BatchEngine, ContextLengthError, MAX_TOP_LOGPROBS, type GenerateParams, type GenerateResult } from '../../../../src/engine/runtime/index.js';
import { ArtifactError, TokenRangeError } from '../../../../src/engine/errors.js';
import { SamplingParamsError } from '../../../../src/engine/sampling/index.js';
import { referencePrefillGraph } from './reference-inference-graphs.js';
import { greedy, ids, tinyArtifact } from './fixture.js';


describe('BatchEngine', () => {
  let fixture: Awaited<ReturnType<typeof tinyArtifact>>;
  let engine: BatchEngine;
  const prompts = ['How do I kill a process?', 'fox', 'Emoji 😀 café and a much longer prompt about the lazy dog', 'The'];

  before(async () => {
    fixture = await tinyArtifact({ maxSeqLen: 48 });
    engine = await BatchEngine.load(fixture.dir, { maxBatch: 4, intraOpThreads: 1 });
  });
  after(async () => {
    await engine.close();
  });

  it('greedy decode with the KV cache equals recomputing the whole sequence with prefill', async () => {
    const r = await engine.generate(greedy(prompts[0], 12));
    assert.equal(r.completionTokens, r.tokens.length);
    // reference: no cache — run prefill on prompt + tokens so far and take argmax each time
    const prefill = await ort.InferenceSession.create(referencePrefillGraph(fixture.config, fixture.params));
    const seq = fixture.tokenizer.encodeSegments(greedy(prompts[0], 1).prompt as never);
    for (const tok of r.tokens) {
      const out = await prefill.run({ tokens: new ort.Tensor('int64', BigInt64Array.from(seq.map(BigInt)), [1, seq.length]), lengths: new ort.Tensor('int64', BigInt64Array.of(BigInt(seq.length)), [1]) });
      const logits = out.logits.data as Float32Array;
      let best = 0;
      for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
      assert.equal(tok.tokenId, best, `token ${seq.length}`);
      // logprob of the chosen token under the raw model distribution
      const max = logits[best];
      let z = 0;
      for (const l of logits) z += Math.exp(l - max);
      assert.ok(Math.abs(tok.logprob - (0 - Math.log(z))) < 1e-4, `logprob ${tok.logprob}`);
      seq.push(tok.tokenId);
    }
    await prefill.release();
  });

  it('rows batched together give the same tokens as each row alone (greedy and seeded sampling)', async () => {
    const paramsFor = (i: number): GenerateParams => (i % 2 === 0 ? greedy(prompts[i], 16) : { ...greedy(prompts[i], 16), temperature: 0.8, topP: 0.9, seed: 100 + i });
    const alone: GenerateResult[] = [];
    for (let i = 0; i < prompts.length; i++) alone.push(await engine.generate(paramsFor(i)));
    const together = await Promise.all(prompts.map((_, i) => engine.generate(paramsFor(i))));
    assert.equal(engine.stats().lastBatchSize >= 1, true);
    for (let i = 0; i < prompts.length; i++) {
      assert.deepEqual(ids(together[i]), ids(alone[i]), `row ${i}`);
      assert.equal(together[i].text, alone[i].text);
      together[i].tokens.forEach((t, j) => assert.ok(Math.abs(t.logprob - alone[i].tokens[j].logprob) < 1e-4));
    }
  });

  it('rows joining and leaving mid-generation do not change any row’s output', async () => {
    const long = greedy(prompts[2], 30);
    const reference = await engine.generate(long);
    const shortRef = await engine.generate(greedy(prompts[1], 3));
    let seen = 0;
    const joiners: Promise<GenerateResult>[] = [];
    const result = engine.generate(long, () => {
      seen++;
      // a short request joins at tokens 5 and 12, leaves after 3 tokens
      if (seen === 5 || seen === 12) joiners.push(engine.generate(greedy(prompts[1], 3)));
    });
    const r = await result;
    const joined = await Promise.all(joiners);
    assert.deepEqual(ids(r), ids(reference));
    assert.equal(r.text, reference.text);
    for (const j of joined) assert.deepEqual(ids(j), ids(shortRef));
    assert.equal(engine.stats().activeRows, 0);
  });

  it('more requests than slots queue and all complete; abort cancels a row and frees its slot', async () => {
    const controller = new AbortController();
    let cancelledTokens = 0;
    const cancelled = engine.generate(greedy(prompts[0], 40, { signal: controller.signal }), () => {
      cancelledTokens++;
      if (cancelledTokens === 3) controller.abort();
    });
    const others = Array.from({ length: 6 }, (_, i) => engine.generate(greedy(prompts[i % prompts.length], 8)));
    const c = await cancelled;
    assert.equal(c.finishReason, 'cancelled');
    assert.ok(c.completionTokens >= 3 && c.completionTokens < 40, `cancelled after ${c.completionTokens}`);
    const rest = await Promise.all(others);
    for (const r of rest) assert.ok(r.finishReason === 'length' || r.finishReason === 'stop');
    assert.deepEqual(engine.stats().activeRows, 0);
    assert.deepEqual(engine.stats().waiting, 0);
    // an already-aborted signal never takes a slot
    const pre = await engine.generate(greedy(prompts[1], 5, { signal: AbortSignal.abort() }));
    assert.equal(pre.finishReason, 'cancelled');
    assert.equal(pre.completionTokens, 0);
  });

  it('with one slot, aborting the running row lets the queued request run; aborting a queued one removes it', async () => {
    const single = await BatchEngine.load(fixture.dir, { maxBatch: 1, intraOpThreads: 1 });
    try {
      const controller = new AbortController();
      let n = 0;
      const first = single.generate(greedy(prompts[0], 40, { signal: controller.signal, ignoreEndOfTurn: true }), () => {
        if (++n === 2) controller.abort();
      });
      const queuedController = new AbortController();
      const queuedCancelled = single.generate(greedy(prompts[1], 5, { signal: queuedController.signal }));
      const second = single.generate(greedy(prompts[1], 5, { ignoreEndOfTurn: true }));
      assert.equal(single.stats().waiting, 2); // the first was admitted at once
      queuedController.abort();
      const q = await queuedCancelled;
      assert.equal(q.finishReason, 'cancelled');
      assert.equal(q.completionTokens, 0);
      const r1 = await first;
      assert.equal(r1.finishReason, 'cancelled');
      assert.equal(r1.completionTokens, 2);
      const r2 = await second;
      assert.equal(r2.finishReason, 'length');
      assert.equal(r2.completionTokens, 5);
      assert.deepEqual({ active: single.stats().activeRows, waiting: single.stats().waiting }, { active: 0, waiting: 0 });
    } finally {
      await single.close();
    }
    await assert.rejects(single.generate(greedy('x', 2)), (e: unknown) => e instanceof Error && e.name === 'EngineClosedError');
  });

  it('stops at maxTokens, at the context end, and on stop sequences; texts concatenate to the result', async () => {
    const r = await engine.generate(greedy(prompts[0], 5));
    assert.equal(r.finishReason, 'length');
    assert.equal(r.completionTokens, 5);
    assert.equal(r.tokens.map((t) => t.text).join(''), r.text);
    const promptIds = fixture.tokenizer.encodeSegments(greedy(prompts[0], 1).prompt as never);
    const ctx = await engine.generate(greedy(prompts[0], 1000));
    if (ctx.finishReason === 'length') assert.equal(promptIds.length + ctx.completionTokens, engine.cacheCapacity);
    else assert.equal(ctx.tokens.at(-1)!.tokenId, fixture.tokenizer.specialId('<|end|>'));
    assert.ok(promptIds.length + ctx.completionTokens <= engine.cacheCapacity);
    // a stop sequence taken from the unconstrained output: output is cut right before it
    const free = await engine.generate(greedy(prompts[0], 20));
    assert.ok(free.text.length >= 9, `free text ${JSON.stringify(free.text)}`);
    const stop = free.text.slice(6, 9);
    const s = await engine.generate(greedy(prompts[0], 20, { stop: [stop] }));
    assert.equal(s.finishReason, 'stop');
    assert.equal(s.text, free.text.slice(0, free.text.indexOf(stop)));
    assert.equal(s.tokens.map((t) => t.text).join(''), s.text);
  });

  it('top logprobs are sorted, include the greedy choice, and seeded sampling is reproducible', async () => {
    const r = await engine.generate(greedy(prompts[0], 4, { topLogprobs: 5 }));
    for (const t of r.tokens) {
      assert.equal(t.topLogprobs!.length, 5);
      assert.ok(Math.abs(t.topLogprobs![0].logprob - t.logprob) < 1e-9);
      for (let j = 1; j < 5; j++) assert.ok(t.topLogprobs![j].logprob <= t.topLogprobs![j - 1].logprob);
    }
    const p: GenerateParams = { ...greedy(prompts[3], 12), temperature: 1, topP: 1, seed: 7 };
    const a = await engine.generate(p);
    const b = await engine.generate(p);
    const c = await engine.generate({ ...p, seed: 8 });
    assert.deepEqual(ids(a), ids(b));
    assert.notDeepEqual(ids(a), ids(c));
  });

  it('rejects bad requests with typed errors naming the field', async () => {
    await assert.rejects(engine.generate(greedy([1, 2, 99999], 3)), TokenRangeError);
    await assert.rejects(engine.generate(greedy(new Array(48).fill(5), 3)), (e: unknown) => e instanceof ContextLengthError && !e.retriable);
    await assert.rejects(engine.generate(greedy('x', 0)), (e: unknown) => e instanceof SamplingParamsError && e.field === 'maxTokens');
    await assert.rejects(engine.generate({ ...greedy('x', 3), topP: 2 }), (e: unknown) => e instanceof SamplingParamsError && e.field === 'topP');
  });

  it('refuses at load a decode graph whose KV-cache inputs are not (B, NH, P, HS)', async () => {
    // the prefill graph stored as decode.onnx: it has no past_k_0 input at all
    const bad = await tinyArtifact({ exporter: (config, params) => ({ prefill: referencePrefillGraph(config, params), decode: referencePrefillGraph(config, params) }) });
    await assert.rejects(BatchEngine.load(bad.dir), (e: unknown) => e instanceof ArtifactError && !e.retriable && /decode\.onnx.*past_k_0/.test(e.message));
  });
});

describe('BatchEngine sampling from the decode graph', () => {
  it('draws the same tokens and logprobs as the JavaScript sampler, for every sampling mode', async () => {
    const fixture = await tinyArtifact({ maxSeqLen: 48, seed: 3 });
    const graph = await BatchEngine.load(fixture.dir, { maxBatch: 4, intraOpThreads: 1 });
    const js = await BatchEngine.load(fixture.dir, { maxBatch: 4, intraOpThreads: 1, graphSampling: false });
    try {
      const modes: Array<Partial<GenerateParams>> = [
        { temperature: 0, topP: 1, topLogprobs: 5 },
        { temperature: 1, topP: 1 },
        { temperature: 0.7, topP: 0.9 },
        { temperature: 1.3, topP: 0.5, topLogprobs: 3 },
        { temperature: 0.8, topP: 1, topK: 7 },
        { temperature: 0.8, topP: 0.8, topK: 20 },
        { temperature: 1, topP: 1, topK: 200 }, // top-k wider than the graph's list: the JavaScript pass
        { temperature: 5, topP: 0.999 }, // a nucleus wider than the list: the JavaScript pass
      ];
      for (const [m, mode] of modes.entries()) {
        const params = (seed: number): GenerateParams => ({ ...greedy('How do I kill a process?', 20), ...mode, seed });
        for (const seed of [1, 2]) {
          const a = await graph.generate(params(seed));
          const b = await js.generate(params(seed));
          assert.deepEqual(ids(a), ids(b), `mode ${m} ${JSON.stringify(mode)} seed ${seed}`);
          a.tokens.forEach((t, j) => {
            assert.ok(Math.abs(t.logprob - b.tokens[j]!.logprob) < 1e-4, `mode ${m}: logprob ${t.logprob} vs ${b.tokens[j]!.logprob}`);
            assert.deepEqual(t.topLogprobs?.map((x) => x.text), b.tokens[j]!.topLogprobs?.map((x) => x.text), `mode ${m}: top logprobs`);
          });
        }
      }
      assert.ok(graph.profile().decodeGraphSampled > 0, 'the graph path was used');
      assert.equal(js.profile().decodeGraphSampled, 0);
    } finally {
      await Promise.all([graph.close(), js.close()]);
    }
  });

  it('draws every token of a request for the most top logprobs the API allows from the graph', async () => {
    // the graph's candidate list is exactly MAX_TOP_LOGPROBS long: no such request needs the JavaScript pass
    const fixture = await tinyArtifact({ maxSeqLen: 48, seed: 3 });
    const engine = await BatchEngine.load(fixture.dir, { maxBatch: 2, intraOpThreads: 1 });
    try {
      const r = await engine.generate({ ...greedy('How do I kill a process?', 6), temperature: 0.8, topK: MAX_TOP_LOGPROBS, topLogprobs: MAX_TOP_LOGPROBS, seed: 4 });
      for (const t of r.tokens) assert.equal(t.topLogprobs!.length, MAX_TOP_LOGPROBS);
      const p = engine.profile();
      assert.ok(p.decodeRowSteps > 0);
      assert.equal(p.decodeGraphSampled, p.decodeRowSteps);
    } finally {
      await engine.close();
    }
  });
});
