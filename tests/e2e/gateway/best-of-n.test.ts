// Best-of-n serving through the real HTTP API with the official `openai` client: a gateway
// started with OUTERLOOP_GATEWAY_BEST_OF_N=4:<rm> (the shipped base policy or the tiny one,
// a small random-weight reward model with the policy's tokenizer). Checked independently:
// the returned answer is sample k (seed + k) of the served policy, reproduced here on a
// BatchEngine, and k is the argmax of the RM's scores of all four samples, recomputed here
// with the RM; the response reports n, the KL bound log 4 − 3/4, the scores and the extra
// tokens; headers and Prometheus say the same; a stream carries the same answer; before
// the RM is registered the gateway answers 503 best_of_n_unavailable, naming the reason.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { readArtifact } from '../../../src/engine/artifact/artifact.js';
import { writeRewardArtifact } from '../../../src/engine/artifact/reward-artifact.js';
import { renderChatPrompt } from '../../../src/engine/chat-template.js';
import { initGptParameters } from '../../../src/engine/gpt/params.js';
import { BatchEngine } from '../../../src/engine/runtime/batch-engine.js';
import { ModelVersionEntity } from '../../../src/platform/persistence/entities/model-version.entity.js';
import { RewardModelScoring } from '../../../src/rlhf/ppo/rm-reward.js';
import { encodePrompt, encodeResponse } from '../../../src/rlhf/reward/rm-data.js';
import { startGateway, type RunningGateway } from './support.js';

const N = 4;
const RM_VERSION = 'reward-bon-e2e';
const messages = [{ role: 'user' as const, content: 'How do I kill a Linux process?' }];

interface BestOfNBlock { n: number; reward_model_version: string; kl_bound_nats: number; chosen_index: number; scores: number[]; sampled_completion_tokens: number; extra_completion_tokens: number }
const bestOfNOf = (body: unknown): BestOfNBlock => (body as { outerloop: { best_of_n: BestOfNBlock } }).outerloop.best_of_n;

describe('gateway best-of-n serving with the official openai client', () => {
  let gw: RunningGateway;
  let client: OpenAI;
  let rmDir = '';
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'bon-e2e-'));
    gw = await startGateway({ env: { OUTERLOOP_GATEWAY_BEST_OF_N: `${N}:${RM_VERSION}` } });
    client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused-in-open-mode', maxRetries: 0 });
    const { tokenizer } = await readArtifact(gw.config.basePolicy);
    const config = { vocabSize: tokenizer.vocabSize, maxSeqLen: 256, channels: 16, layers: 1, heads: 2 };
    rmDir = join(root, 'rm');
    await writeRewardArtifact(rmDir, { members: [initGptParameters(config, 5)], tokenizer, meta: { parentArtifactId: null, datasetSnapshotId: null, trainingRunId: null, training: {}, metrics: {} } });
  });
  after(async () => {
    await gw?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('before its reward model is registered: 503 best_of_n_unavailable naming the reason, and /readyz says why', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'outerloop', messages, max_tokens: 8, seed: 1 }), (err: unknown) =>
      err instanceof OpenAI.APIError && err.status === 503 && err.code === 'best_of_n_unavailable' && /reward-bon-e2e/.test(err.message) && /not in the registry/.test(err.message));
    const ready = await fetch(gw.baseURL.replace(/\/v1$/, '/readyz'));
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /best.of.n reward model unavailable/);
  });

  it('returns the RM-best of n samples of the served policy, with n, the KL bound, the scores and the extra tokens', async () => {
    await gw.dataSource.getRepository(ModelVersionEntity).insert({
      id: RM_VERSION, kind: 'reward', parentId: null, artifactPath: rmDir, sha256: 'e2e', status: 'candidate', trainingRunId: null, datasetSnapshotId: null, metrics: {}, createdAt: new Date(),
    });
    const seed = 41;
    const maxTokens = 24;
    const { data: r, response } = await client.chat.completions.create({ model: 'outerloop', messages, max_tokens: maxTokens, seed, temperature: 1 }).withResponse();
    const b = bestOfNOf(r);
    assert.equal(b.n, N);
    assert.equal(b.reward_model_version, RM_VERSION);
    assert.ok(Math.abs(b.kl_bound_nats - (Math.log(N) - (N - 1) / N)) < 1e-12);
    assert.equal(response.headers.get('x-outerloop-best-of-n'), String(N));
    assert.equal(Number(response.headers.get('x-outerloop-best-of-n-kl-bound')).toFixed(4), (Math.log(N) - (N - 1) / N).toFixed(4));

    // the n samples, independently: the served artifact on a BatchEngine, sample k with seed + k
    const engine = await BatchEngine.load(gw.config.basePolicy, { maxBatch: N, intraOpThreads: 1 });
    let samples;
    try {
      samples = await Promise.all(Array.from({ length: N }, (_, k) => engine.generate({ prompt: renderChatPrompt(messages), maxTokens, temperature: 1, topP: 1, seed: seed + k })));
    } finally {
      await engine.close();
    }
    const scoring = await RewardModelScoring.load({ dir: rmDir });
    let scores: number[];
    try {
      const prompt = encodePrompt(scoring.tokenizer, messages);
      scores = (await scoring.scoreTokens(samples.map((s) => ({ prompt, response: encodeResponse(scoring.tokenizer, s.text) })))).map((m) => m[0]!);
    } finally {
      await scoring.close();
    }
    assert.ok(new Set(samples.map((s) => s.text)).size > 1, 'the samples differ (else the test proves nothing)');
    for (let k = 0; k < N; k++) assert.ok(Math.abs(b.scores[k]! - scores[k]!) < 1e-4, `score ${k}: reported ${b.scores[k]}, recomputed ${scores[k]}`);
    const argmax = scores.indexOf(Math.max(...scores));
    assert.equal(b.chosen_index, argmax);
    assert.equal(r.choices[0]!.message.content, samples[argmax]!.text);
    assert.equal(r.usage!.completion_tokens, samples[argmax]!.completionTokens, 'usage is the returned answer’s');
    const sampled = samples.reduce((s, x) => s + x.completionTokens, 0);
    assert.equal(b.sampled_completion_tokens, sampled);
    assert.equal(b.extra_completion_tokens, sampled - samples[argmax]!.completionTokens);

    // streamed: the same answer and the same report on the first chunk
    const stream = await client.chat.completions.create({ model: 'outerloop', messages, max_tokens: maxTokens, seed, temperature: 1, stream: true });
    let text = '';
    let report: BestOfNBlock | null = null;
    for await (const chunk of stream) {
      report ??= (chunk as unknown as { outerloop?: { best_of_n?: BestOfNBlock } }).outerloop?.best_of_n ?? null;
      for (const c of chunk.choices) text += c.delta.content ?? '';
    }
    assert.equal(text, r.choices[0]!.message.content);
    assert.equal(report?.chosen_index, argmax);

    const metrics = await (await fetch(gw.baseURL.replace(/\/v1$/, '/metrics'))).text();
    const value = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1]);
    assert.equal(value('outerloop_gateway_best_of_n_requests_total'), 2);
    assert.equal(value('outerloop_gateway_best_of_n_samples_total'), 2 * N);
    assert.equal(value('outerloop_gateway_best_of_n_extra_tokens_total'), 2 * b.extra_completion_tokens);
    assert.ok(Math.abs(value('outerloop_gateway_best_of_n_kl_bound_nats') - (Math.log(N) - (N - 1) / N)) < 1e-9);
  });

  it('n=2 keeps its own two samples (best-of-n is for the one answer a user gets)', async () => {
    const r = await client.chat.completions.create({ model: 'outerloop', messages, max_tokens: 8, n: 2, seed: 3 });
    assert.equal(r.choices.length, 2);
    assert.equal((r as unknown as { outerloop: { best_of_n?: unknown } }).outerloop.best_of_n, undefined);
  });
});
