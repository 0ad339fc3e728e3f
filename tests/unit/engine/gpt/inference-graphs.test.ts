// Prefill + decode (KV cache) must reproduce the training forward's logits on the same
// sequence: gptForwardLogitsReference is the training-graph forward (weights as inputs),
// the inference graphs bake weights in and attend over a runtime-managed cache.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GptConfig, ParameterSet, headSize } from '../../../../src/engine/gpt/config.js';
import { initGptParameters } from '../../../../src/engine/gpt/params.js';
import { buildLogitsGraph } from '../../../../src/engine/train/train-graph.js';
import { buildDecodeGraph, buildPrefillGraph, exportInferenceGraphs, SAMPLING_TOP_K } from '../../../../src/engine/gpt/inference-graphs.js';
import { getSession, ort } from '../../../../src/engine/graph/session.js';
import { MASK_NEGATIVE } from '../../../../src/engine/gpt/model.js';
import { Rng } from '../../../../src/engine/rng.js';
import { DECODE_FILE, PREFILL_FILE, readArtifact, sha256Hex } from '../../../../src/engine/artifact/artifact.js';
import { join } from 'node:path';

const CONFIG: GptConfig = { vocabSize: 32, maxSeqLen: 16, channels: 16, layers: 2, heads: 4 };

function params(): ParameterSet {
  const p = initGptParameters(CONFIG, 7);
  const rng = new Rng(8);
  for (let i = 0; i < p.data.length; i++) p.data[i] = p.data[i]! + 0.05 * rng.normal();
  return p;
}

/** Logits (B, T, V) of the training forward for full sequences. */
async function gptForwardLogitsReference(p: ParameterSet, tokens: number[][]): Promise<Float32Array[]> {
  const session = await getSession(buildLogitsGraph(CONFIG));
  const out: Float32Array[] = [];
  for (const seq of tokens) {
    const feeds: Record<string, ort.Tensor> = {};
    for (const s of p.layout) feeds[s.name] = new ort.Tensor('float32', p.view(s.name), [...s.shape]);
    feeds.tokens = new ort.Tensor('int64', BigInt64Array.from(seq.map(BigInt)), [1, seq.length]);
    out.push((await session.run(feeds)).logits!.data as Float32Array);
  }
  return out;
}

function maxdiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('inference graphs', () => {
  it('prefill + decode reproduce the training forward logits, rows of different lengths in one batch', async () => {
    const p = params();
    const V = CONFIG.vocabSize, NH = CONFIG.heads, HS = headSize(CONFIG), L = CONFIG.layers;
    const rng = new Rng(9);
    // Two rows: prompts of length 3 and 5 (right-padded to 5), then 4 decode steps each.
    const prompts = [3, 5].map((n) => Array.from({ length: n }, () => rng.nextInt(V)));
    const continuations = prompts.map(() => Array.from({ length: 4 }, () => rng.nextInt(V)));
    const full = prompts.map((pr, b) => [...pr, ...continuations[b]!]);
    const reference = await gptForwardLogitsReference(p, full); // per row (1, len, V)

    const prefill = await getSession(buildPrefillGraph(p), { optimization: 'all' });
    const decode = await getSession(buildDecodeGraph(p), { optimization: 'all' });
    const B = 2, T = 5, P = 16; // cache capacity
    const tok = new BigInt64Array(B * T);
    prompts.forEach((pr, b) => pr.forEach((t, i) => (tok[b * T + i] = BigInt(t))));
    const pre = await prefill.run({
      tokens: new ort.Tensor('int64', tok, [B, T]),
      lengths: new ort.Tensor('int64', BigInt64Array.from(prompts.map((x) => BigInt(x.length))), [B]),
    });
    let worst = 0;
    const check = (what: string, logits: Float32Array, b: number, pos: number): void => {
      const want = reference[b]!.subarray(pos * V, (pos + 1) * V);
      const d = maxdiff(logits.subarray(b * V, (b + 1) * V), want);
      console.log(`${what} row ${b} position ${pos}: maxdiff ${d.toExponential(2)}`);
      worst = Math.max(worst, d);
    };
    prompts.forEach((pr, b) => check('prefill', pre.logits!.data as Float32Array, b, pr.length - 1));

    // The runtime's cache: (B, NH, P, HS) per layer, slots beyond each row's length masked.
    const cacheK = Array.from({ length: L }, () => new Float32Array(B * NH * P * HS));
    const cacheV = Array.from({ length: L }, () => new Float32Array(B * NH * P * HS));
    const lengths = prompts.map((x) => x.length);
    const write = (cache: Float32Array, src: Float32Array, srcT: number, b: number, srcPos: number, dstPos: number): void => {
      for (let h = 0; h < NH; h++) {
        const s = ((b * NH + h) * srcT + srcPos) * HS;
        cache.set(src.subarray(s, s + HS), ((b * NH + h) * P + dstPos) * HS);
      }
    };
    for (let l = 0; l < L; l++) {
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < lengths[b]!; t++) {
          write(cacheK[l]!, pre[`present_k_${l}`]!.data as Float32Array, T, b, t, t);
          write(cacheV[l]!, pre[`present_v_${l}`]!.data as Float32Array, T, b, t, t);
        }
      }
    }
    // the sampling outputs against a float64 log-softmax of the graph's own logits
    const invTemperature = Float32Array.from({ length: B }, (_, b) => (b % 2 === 0 ? 1 : 1 / 0.7));
    const checkSamplingOutputs = (out: ort.InferenceSession.OnnxValueMapType, b: number, invT: number): void => {
      const z = (out.logits!.data as Float32Array).subarray(b * V, (b + 1) * V);
      let max = -Infinity;
      for (const x of z) max = Math.max(max, x * invT);
      let total = 0;
      for (const x of z) total += Math.exp(x * invT - max);
      const logp = Array.from(z, (x) => x * invT - max - Math.log(total));
      const K = Math.min(SAMPLING_TOP_K, V);
      assert.deepEqual(out.top_ids!.dims, [B, K]);
      const ids = Array.from((out.top_ids!.data as BigInt64Array).subarray(b * K, (b + 1) * K), Number);
      const lps = (out.top_logprobs!.data as Float32Array).subarray(b * K, (b + 1) * K);
      const want = logp.map((lp, id) => ({ lp, id })).sort((x, y) => y.lp - x.lp || x.id - y.id).slice(0, K);
      for (let j = 0; j < K; j++) {
        assert.ok(Math.abs(lps[j]! - logp[ids[j]!]!) < 1e-4, `row ${b} rank ${j}: top_logprobs ${lps[j]} vs log p(${ids[j]}) ${logp[ids[j]!]}`);
        assert.ok(Math.abs(logp[ids[j]!]! - want[j]!.lp) < 1e-4, `row ${b} rank ${j}: id ${ids[j]} is not the ${j}-th most likely`);
        if (j > 0) assert.ok(lps[j]! <= lps[j - 1]!, 'top_logprobs must be descending');
      }
      const cdf = (out.cdf!.data as Float32Array).subarray(b * V, (b + 1) * V);
      let cum = 0;
      for (let id = 0; id < V; id++) {
        cum += Math.exp(logp[id]!);
        assert.ok(Math.abs(cdf[id]! - cum) < 1e-4, `row ${b}: cdf[${id}] ${cdf[id]} vs ${cum}`);
      }
    };
    for (let step = 0; step < 4; step++) {
      const mask = new Float32Array(B * P).fill(MASK_NEGATIVE);
      for (let b = 0; b < B; b++) mask.fill(0, b * P, b * P + lengths[b]!);
      const feeds: Record<string, ort.Tensor> = {
        tokens: new ort.Tensor('int64', BigInt64Array.from(continuations.map((c) => BigInt(c[step]!))), [B]),
        positions: new ort.Tensor('int64', BigInt64Array.from(lengths.map(BigInt)), [B]),
        past_mask: new ort.Tensor('float32', mask, [B, P]),
        inv_temperature: new ort.Tensor('float32', invTemperature, [B]),
      };
      for (let l = 0; l < L; l++) {
        feeds[`past_k_${l}`] = new ort.Tensor('float32', cacheK[l]!, [B, NH, P, HS]);
        feeds[`past_v_${l}`] = new ort.Tensor('float32', cacheV[l]!, [B, NH, P, HS]);
      }
      const out = await decode.run(feeds);
      for (let b = 0; b < B; b++) check('decode', out.logits!.data as Float32Array, b, lengths[b]!);
      for (let b = 0; b < B; b++) checkSamplingOutputs(out, b, invTemperature[b]!);
      for (let l = 0; l < L; l++) {
        for (let b = 0; b < B; b++) {
          assert.deepEqual(out[`new_k_${l}`]!.dims, [B, NH, 1, HS]);
          write(cacheK[l]!, out[`new_k_${l}`]!.data as Float32Array, 1, b, 0, lengths[b]!);
          write(cacheV[l]!, out[`new_v_${l}`]!.data as Float32Array, 1, b, 0, lengths[b]!);
        }
      }
      for (let b = 0; b < B; b++) lengths[b]!++;
    }
    assert.ok(worst < 1e-4, `prefill/decode logits differ from the training forward by ${worst}`);
  });

  it('decode works with an empty cache (P = 0): the token attends only to itself', async () => {
    const p = params();
    const decode = await getSession(buildDecodeGraph(p));
    const NH = CONFIG.heads, HS = headSize(CONFIG);
    const feeds: Record<string, ort.Tensor> = {
      tokens: new ort.Tensor('int64', BigInt64Array.of(5n), [1]),
      positions: new ort.Tensor('int64', BigInt64Array.of(0n), [1]),
      past_mask: new ort.Tensor('float32', new Float32Array(0), [1, 0]),
      inv_temperature: new ort.Tensor('float32', Float32Array.of(1), [1]),
    };
    for (let l = 0; l < CONFIG.layers; l++) {
      feeds[`past_k_${l}`] = new ort.Tensor('float32', new Float32Array(0), [1, NH, 0, HS]);
      feeds[`past_v_${l}`] = new ort.Tensor('float32', new Float32Array(0), [1, NH, 0, HS]);
    }
    const out = await decode.run(feeds);
    const [ref] = await gptForwardLogitsReference(p, [[5]]);
    assert.ok(maxdiff(out.logits!.data as Float32Array, ref!) < 1e-5);
  });

  it('exportInferenceGraphs emits loadable models carrying the weights and the config', async () => {
    const p = params();
    const { prefill, decode } = exportInferenceGraphs(CONFIG, p.data);
    assert.ok(prefill.byteLength > p.data.byteLength, 'prefill must carry every weight');
    assert.ok(decode.byteLength > p.data.byteLength, 'decode must carry every weight');
    const s = await ort.InferenceSession.create(prefill);
    assert.deepEqual([...s.inputNames].sort(), ['lengths', 'tokens']);
    assert.ok(s.outputNames.includes('present_v_1'));
    const d = await ort.InferenceSession.create(decode);
    assert.ok(d.inputNames.includes('past_mask') && d.outputNames.includes('new_k_0'));
    assert.ok(d.inputNames.includes('inv_temperature') && ['top_logprobs', 'top_ids', 'cdf'].every((n) => d.outputNames.includes(n)));
  });

  it("the shipped base policy's serving graphs are the current export of its weights (re-export it after changing the graphs)", async () => {
    const dir = join(import.meta.dirname, '../../../../../models/base-policy');
    const { manifest, params: weights, tokenizer } = await readArtifact(dir);
    const graphs = exportInferenceGraphs(manifest.config, weights, { sampledVocab: tokenizer.vocabSize });
    for (const [file, bytes] of [[PREFILL_FILE, graphs.prefill], [DECODE_FILE, graphs.decode]] as const) {
      assert.equal(sha256Hex(bytes), manifest.files[file]?.sha256, `${file}: read the artifact and write it back with writeArtifact (same meta, paramsBlob: false; models/README.md)`);
    }
  });
});
