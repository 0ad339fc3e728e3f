import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BatchEngine, ContextLengthError, EngineClosedError, EngineRunError, EngineThread, type GenerateParams, type TokenEvent } from '../../../../src/engine/runtime/index.js';
import { ArtifactError, TokenRangeError } from '../../../../src/engine/errors.js';
import { SamplingParamsError } from '../../../../src/engine/sampling/index.js';
import { greedy, ids, tinyArtifact } from './fixture.js';

const request = (prompt: string, maxTokens: number, extra: Partial<GenerateParams> = {}): GenerateParams => greedy(prompt, maxTokens, extra);

describe('EngineThread (a BatchEngine on a worker thread)', () => {
  let fixture: Awaited<ReturnType<typeof tinyArtifact>>;
  let thread: EngineThread;
  let local: BatchEngine;

  before(async () => {
    fixture = await tinyArtifact({ maxSeqLen: 48 });
    thread = await EngineThread.load(fixture.dir, { maxBatch: 4, intraOpThreads: 1 });
    local = await BatchEngine.load(fixture.dir, { maxBatch: 4, intraOpThreads: 1 });
  });
  after(async () => {
    await Promise.all([thread.close(), local.close()]);
  });

  it('generates what the engine generates on this thread, streaming every token in order', async () => {
    assert.equal(thread.manifest.artifactId, local.manifest.artifactId);
    for (const p of [request('How do I kill a process?', 12), request('fox', 16, { temperature: 0.9, topP: 0.9, seed: 4, topLogprobs: 2, stop: ['e'] })]) {
      const streamed: TokenEvent[] = [];
      const r = await thread.generate(p, (t) => streamed.push(t));
      const want = await local.generate(p);
      assert.deepEqual(ids(r), ids(want));
      assert.equal(r.text, want.text);
      assert.equal(r.finishReason, want.finishReason);
      assert.equal(r.promptTokens, want.promptTokens);
      assert.equal(r.completionTokens, r.tokens.length);
      assert.deepEqual(streamed, r.tokens, 'the result carries exactly the streamed events');
      assert.equal(streamed.map((t) => t.text).join(''), r.text);
    }
  });

  it('runs concurrent requests in one batch and reports the engine stats', async () => {
    let largest = 0;
    const rs = await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => thread.generate(request(x, 10, { ignoreEndOfTurn: true }), () => (largest = Math.max(largest, thread.stats().lastBatchSize)))),
    );
    for (const r of rs) assert.equal(r.completionTokens, 10);
    const s = thread.stats();
    assert.ok(s.steps > 0);
    assert.ok(largest >= 2, `largest batch seen ${largest}`);
    assert.deepEqual({ active: s.activeRows, waiting: s.waiting }, { active: 0, waiting: 0 });
  });

  it('an abort cancels the row on the worker and frees its slot; an aborted signal never takes one', async () => {
    // Gated: the worker runs one step per permit, so the abort is posted while the row is
    // provably mid-generation (a free-running tiny model can finish 40 tokens before the
    // abort arrives on a loaded machine).
    const gated = await EngineThread.load(fixture.dir, { maxBatch: 2, intraOpThreads: 1, gatedSteps: true });
    try {
      const controller = new AbortController();
      let n = 0;
      gated.permitSteps(1);
      const r = await gated.generate(request('How do I kill a process?', 40, { signal: controller.signal, ignoreEndOfTurn: true }), () => {
        if (++n === 3) {
          controller.abort(); // the cancel message goes out before the permit below
          gated.permitSteps(1000);
        } else gated.permitSteps(1);
      });
      assert.equal(r.finishReason, 'cancelled');
      assert.ok(r.completionTokens >= 3 && r.completionTokens < 40, `cancelled after ${r.completionTokens}`);
      assert.equal(gated.stats().activeRows, 0);
      const pre = await gated.generate(request('x', 5, { signal: AbortSignal.abort() }));
      assert.equal(pre.finishReason, 'cancelled');
      assert.equal(pre.completionTokens, 0);
    } finally {
      await gated.close();
    }
  });

  it('a consumer that throws fails its own request only', async () => {
    const failing = thread.generate(request('fox', 20, { ignoreEndOfTurn: true }), () => {
      throw new Error('consumer broke');
    });
    const fine = thread.generate(request('dog', 6, { ignoreEndOfTurn: true }));
    await assert.rejects(failing, /consumer broke/);
    assert.equal((await fine).completionTokens, 6);
  });

  it('errors cross the thread as their own classes, with their fields', async () => {
    await assert.rejects(thread.generate({ ...request('x', 3), prompt: [1, 2, 99999] }), (e: unknown) => e instanceof TokenRangeError && e.value === 99999 && !e.retriable);
    await assert.rejects(thread.generate({ ...request('x', 3), prompt: new Array(48).fill(5) }), (e: unknown) => e instanceof ContextLengthError && e.promptTokens === 48 && !e.retriable);
    await assert.rejects(thread.generate(request('x', 0)), (e: unknown) => e instanceof SamplingParamsError && e.field === 'maxTokens');
    await assert.rejects(EngineThread.load(join(fixture.dir, 'missing')), (e: unknown) => e instanceof ArtifactError && /manifest/.test(e.message));
  });

  it('a thread that dies fails its requests and tells onFailure listeners; close() does not', async () => {
    const own = await EngineThread.load(fixture.dir, { maxBatch: 2, intraOpThreads: 1 });
    const failures: Error[] = [];
    own.onFailure((e) => failures.push(e));
    const running = own.generate(request('How do I kill a process?', 40, { ignoreEndOfTurn: true }));
    const outcome = running.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await (own as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate(); // what a crash of the thread looks like from here
    const e = await outcome;
    assert.ok(e instanceof EngineRunError && e.retriable, String(e));
    assert.equal(failures.length, 1);
    await assert.rejects(own.generate(request('x', 2)), EngineClosedError);

    const closedNormally = await EngineThread.load(fixture.dir, { maxBatch: 1, intraOpThreads: 1 });
    closedNormally.onFailure(() => failures.push(new Error('must not be called')));
    await closedNormally.close();
    assert.equal(failures.length, 1);
  });

  it('close fails what is running and refuses new requests', async () => {
    const own = await EngineThread.load(fixture.dir, { maxBatch: 2, intraOpThreads: 1 });
    const outcomes = Promise.allSettled([
      own.generate(request('How do I kill a process?', 40, { ignoreEndOfTurn: true })),
      own.generate(request('a', 40, { ignoreEndOfTurn: true })),
      own.generate(request('b', 40, { ignoreEndOfTurn: true })),
    ]);
    await own.close(); // right away: the worker gets it right after the three requests, well within 40 steps
    for (const o of await outcomes) {
      assert.equal(o.status, 'rejected', o.status === 'fulfilled' ? `a ${o.value.finishReason} result` : '');
      if (o.status === 'rejected') assert.ok(o.reason instanceof EngineClosedError, String(o.reason));
    }
    await assert.rejects(own.generate(request('x', 2)), EngineClosedError);
  });
});
