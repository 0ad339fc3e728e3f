// The official `openai` client, unmodified, against a running gateway (real
// platform in embedded mode, real BatchEngine): if this passes, existing OpenAI
// clients work unchanged.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { Topic } from '../../../src/platform/messaging/events.js';
import { DeploymentEntity } from '../../../src/platform/persistence/entities/deployment.entity.js';
import { ModelVersionEntity } from '../../../src/platform/persistence/entities/model-version.entity.js';
import { startGateway, tinyPolicyArtifact, type RunningGateway } from './support.js';

const messages = [{ role: 'user' as const, content: 'How do I kill a Linux process?' }];

describe('gateway with the official openai client', () => {
  let gw: RunningGateway;
  let client: OpenAI;
  before(async () => {
    gw = await startGateway();
    client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused-in-open-mode', maxRetries: 0 });
  });
  after(async () => gw?.close());

  it('lists models', async () => {
    const page = await client.models.list();
    const ids = page.data.map((m) => m.id);
    assert.equal(ids[0], 'outerloop');
    assert.equal(ids.length, 2);
    assert.match(ids[1]!, /^policy-[0-9a-f]{16}$/);
  });

  it('retrieves a model by id; an unknown id is NotFoundError', async () => {
    assert.equal((await client.models.retrieve('outerloop')).id, 'outerloop');
    await assert.rejects(client.models.retrieve('no-such-model'), (err: unknown) => err instanceof OpenAI.NotFoundError && err.code === 'model_not_found');
  });

  it('a prompt over the context with stream: true is a BadRequestError from create(), not an error inside a 200 stream', async () => {
    const long = [{ role: 'user' as const, content: 'kill the process '.repeat(400) }];
    await assert.rejects(
      client.chat.completions.create({ model: 'outerloop', messages: long, stream: true }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && err.code === 'context_length_exceeded',
    );
  });

  it('non-streaming: text, usage, completion id and version', async () => {
    const r = await client.chat.completions.create({ model: 'outerloop', messages, max_tokens: 16, seed: 3 });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices.length, 1);
    assert.equal(typeof r.choices[0]!.message.content, 'string');
    assert.ok(['stop', 'length'].includes(r.choices[0]!.finish_reason));
    assert.ok(r.usage!.prompt_tokens > 0);
    assert.equal(r.usage!.completion_tokens > 0, true);
    assert.ok(r.usage!.completion_tokens <= 16);
    const ext = (r as unknown as { outerloop: { completion_id: string; model_version: string } }).outerloop;
    assert.equal(ext.completion_id, r.id);
    assert.equal(ext.model_version, r.model);
  });

  it('streaming: deltas reassemble the same text as the non-streamed call with the same seed', async () => {
    const plain = await client.chat.completions.create({ model: 'outerloop', messages, max_tokens: 20, seed: 11 });
    const stream = await client.chat.completions.create({ model: 'outerloop', messages, max_tokens: 20, seed: 11, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined = null;
    let first = true;
    for await (const chunk of stream) {
      if (first) {
        assert.equal(chunk.choices[0]!.delta.role, 'assistant');
        first = false;
      }
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        if (c.finish_reason) finish = c.finish_reason;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, plain.choices[0]!.message.content);
    assert.equal(finish, plain.choices[0]!.finish_reason);
    assert.equal(usage!.completion_tokens, plain.usage!.completion_tokens);
  });

  it('seed: same seed → same text', async () => {
    const a = await client.chat.completions.create({ model: 'outerloop', messages, max_tokens: 24, seed: 1234, temperature: 1 });
    const b = await client.chat.completions.create({ model: 'outerloop', messages, max_tokens: 24, seed: 1234, temperature: 1 });
    assert.equal(a.choices[0]!.message.content, b.choices[0]!.message.content);
    assert.notEqual(a.id, b.id);
  });

  it('n=2: two choices, each with its own completion id', async () => {
    const r = await client.chat.completions.create({ model: 'outerloop', messages, max_tokens: 12, n: 2, seed: 5 });
    assert.equal(r.choices.length, 2);
    const ids = r.choices.map((c) => (c as unknown as { completion_id: string }).completion_id);
    assert.equal(new Set(ids).size, 2);
    assert.equal(ids[0], r.id);
  });

  it('stop: the text ends before the stop sequence', async () => {
    const full = await client.chat.completions.create({ model: 'outerloop', messages, max_tokens: 32, seed: 77 });
    const text = full.choices[0]!.message.content!;
    assert.ok(text.length >= 6, `need some text to pick a stop from, got ${JSON.stringify(text)}`);
    const stop = text.slice(3, 5);
    const cut = await client.chat.completions.create({ model: 'outerloop', messages, max_tokens: 32, seed: 77, stop: [stop] });
    assert.equal(cut.choices[0]!.message.content, text.slice(0, text.indexOf(stop)));
    assert.equal(cut.choices[0]!.finish_reason, 'stop');
  });

  it('logprobs and top_logprobs', async () => {
    const r = await client.chat.completions.create({ model: 'outerloop', messages, max_tokens: 8, logprobs: true, top_logprobs: 3, seed: 2 });
    const content = r.choices[0]!.logprobs!.content!;
    assert.equal(content.length, r.usage!.completion_tokens);
    for (const t of content) {
      assert.ok(t.logprob <= 0);
      assert.equal(t.top_logprobs.length, 3);
      assert.ok(t.top_logprobs[0]!.logprob >= t.top_logprobs[2]!.logprob);
    }
  });

  it('invalid request → 400 BadRequestError with OpenAI error shape', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'outerloop', messages, temperature: 7 }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError);
        assert.equal(err.status, 400);
        assert.equal(err.type, 'invalid_request_error');
        assert.equal(err.param, 'temperature');
        return true;
      },
    );
    await assert.rejects(client.chat.completions.create({ model: 'nope', messages }), (err: unknown) => err instanceof OpenAI.NotFoundError && err.code === 'model_not_found');
  });

  it('hot swap under load: a promotion completes with no failed request; new requests go to the new version', async () => {
    const before = (await client.chat.completions.create({ model: 'outerloop', messages, max_tokens: 4 })).model;
    const dir = await tinyPolicyArtifact(2);
    const newVersion = `policy-e2e-${randomUUID().slice(0, 8)}`;
    await gw.dataSource.getRepository(ModelVersionEntity).insert({
      id: newVersion, kind: 'policy', parentId: before, artifactPath: dir, sha256: 'e2e', status: 'production',
      trainingRunId: null, datasetSnapshotId: null, metrics: {}, createdAt: new Date(),
    });
    const load = Array.from({ length: 12 }, (_, i) =>
      (async () => {
        const s = await client.chat.completions.create({ model: 'outerloop', messages, max_tokens: 40, seed: i, stream: true });
        let n = 0;
        for await (const c of s) n += c.choices.length;
        return n;
      })(),
    );
    await new Promise((r) => setTimeout(r, 50));
    await gw.dataSource.getRepository(DeploymentEntity).insert({
      id: `dep-${newVersion}`, productionModelId: newVersion, canaryModelId: null, canaryWeight: 0, shadowModelId: null,
      reason: 'e2e promotion', createdAt: new Date(Date.now() + 1000),
    });
    await gw.bus.publish(Topic.modelEvents, [
      { key: newVersion, value: { v: 1, eventId: randomUUID(), modelId: newVersion, kind: 'promoted', detail: {}, createdAt: new Date().toISOString() } },
    ]);
    const results = await Promise.allSettled(load);
    assert.deepEqual(results.filter((r) => r.status === 'rejected'), [], 'no request failed during the swap');
    const t0 = Date.now();
    while (gw.pool.deployment().production !== newVersion) {
      if (Date.now() - t0 > 20_000) throw new Error('the promotion was not applied within 20 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const after = await client.chat.completions.create({ model: 'outerloop', messages, max_tokens: 4 });
    assert.equal(after.model, newVersion);
    assert.notEqual(before, newVersion);
  });
});
