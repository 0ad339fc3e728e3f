import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NonFiniteError } from '../../../../src/engine/errors.js';
import { GREEDY_TEMPERATURE, graphInvTemperature, Sampler, SamplingParamsError, validateSamplingParams, type TopCandidates } from '../../../../src/engine/sampling/index.js';
import { Rng } from '../../../../src/engine/rng.js';

// logits whose softmax is exactly `probs` (log p), for a readable reference
const logitsOf = (probs: number[]): Float32Array => Float32Array.from(probs.map((p) => Math.log(p)));
const PROBS = [0.05, 0.4, 0.1, 0.3, 0.15]; // sorted desc: 1 (.4), 3 (.3), 4 (.15), 2 (.1), 0 (.05)

function frequencies(params: { temperature: number; topP: number; topK?: number }, draws: number, seed = 1): number[] {
  const s = new Sampler(PROBS.length);
  const rng = new Rng(seed);
  const counts = new Array(PROBS.length).fill(0);
  const logits = logitsOf(PROBS);
  for (let i = 0; i < draws; i++) counts[s.sample(logits, params, rng)]++;
  return counts.map((c) => c / draws);
}

describe('Sampler', () => {
  it('temperature 0 is argmax with ties to the lowest id and reports raw-model logprobs', () => {
    const s = new Sampler(4);
    const rng = new Rng(1);
    assert.equal(s.sample(Float32Array.of(0, 3, 3, 1), { temperature: 0, topP: 1 }, rng), 1);
    const logits = logitsOf([0.1, 0.2, 0.7]);
    const s3 = new Sampler(3);
    assert.equal(s3.sample(logits, { temperature: 0, topP: 0.5 }, rng), 2);
    assert.ok(Math.abs(s3.chosenLogprob - Math.log(0.7)) < 1e-6);
  });

  it('plain sampling follows the softmax distribution', () => {
    const f = frequencies({ temperature: 1, topP: 1 }, 40_000);
    f.forEach((p, i) => assert.ok(Math.abs(p - PROBS[i]) < 0.012, `token ${i}: ${p} vs ${PROBS[i]}`));
  });

  it('top-k keeps the k most likely tokens, renormalised', () => {
    const f = frequencies({ temperature: 1, topP: 1, topK: 2 }, 40_000);
    assert.equal(f[0] + f[2] + f[4], 0);
    assert.ok(Math.abs(f[1] - 0.4 / 0.7) < 0.012, `p(1)=${f[1]}`);
    assert.ok(Math.abs(f[3] - 0.3 / 0.7) < 0.012, `p(3)=${f[3]}`);
  });

  it('top-p keeps the smallest prefix reaching the mass, renormalised', () => {
    // 0.4 + 0.3 = 0.7 < 0.75 → add 0.15: nucleus {1, 3, 4} with mass 0.85
    const f = frequencies({ temperature: 1, topP: 0.75 }, 40_000);
    assert.equal(f[0] + f[2], 0);
    assert.ok(Math.abs(f[1] - 0.4 / 0.85) < 0.012);
    assert.ok(Math.abs(f[4] - 0.15 / 0.85) < 0.012);
    // exactly reaching the mass stops there
    const g = frequencies({ temperature: 1, topP: 0.7 }, 20_000);
    assert.equal(g[0] + g[2] + g[4], 0);
  });

  it('top-k then top-p over the renormalised top-k set', () => {
    // top-3 = {1:.4, 3:.3, 4:.15}, renormalised .47,.35,.18; top-p .8 → {1, 3}
    const f = frequencies({ temperature: 1, topP: 0.8, topK: 3 }, 20_000);
    assert.equal(f[0] + f[2] + f[4], 0);
  });

  it('temperature sharpens: logprob is of softmax(z/T) over the full vocabulary', () => {
    const s = new Sampler(PROBS.length);
    const logits = logitsOf(PROBS);
    const id = s.sample(logits, { temperature: 0.5, topP: 1 }, new Rng(3), 3);
    const scaled = PROBS.map((p) => p * p); // p^(1/T) with T = 0.5
    const z = scaled.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(s.chosenLogprob - Math.log(scaled[id] / z)) < 1e-6);
    assert.equal(s.topCount, 3);
    assert.deepEqual([...s.topIds.subarray(0, 3)], [1, 3, 4]);
    assert.ok(Math.abs(s.topLogprobs[0] - Math.log(scaled[1] / z)) < 1e-6);
  });

  it('same seed gives the same sequence; another seed a different one', () => {
    const run = (seed: number): number[] => {
      const s = new Sampler(50);
      const rng = new Rng(seed);
      const logits = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i) * 2);
      return Array.from({ length: 64 }, () => s.sample(logits, { temperature: 1, topP: 0.95, topK: 40 }, rng));
    };
    assert.deepEqual(run(42), run(42));
    assert.notDeepEqual(run(42), run(43));
  });

  it('validates parameters with the field name', () => {
    assert.throws(() => validateSamplingParams({ temperature: -1, topP: 1 }), (e: unknown) => e instanceof SamplingParamsError && e.field === 'temperature');
    assert.throws(() => validateSamplingParams({ temperature: 1, topP: 0 }), (e: unknown) => e instanceof SamplingParamsError && e.field === 'topP');
    assert.throws(() => validateSamplingParams({ temperature: 1, topP: 1, topK: 1.5 }), (e: unknown) => e instanceof SamplingParamsError && e.field === 'topK');
  });

  it('ties at the truncation boundary go to the lowest ids', () => {
    const s = new Sampler(10);
    const rng = new Rng(5);
    const flat = new Float32Array(10);
    const seenK = new Set<number>();
    const seenP = new Set<number>();
    for (let i = 0; i < 3000; i++) {
      seenK.add(s.sample(flat, { temperature: 1, topP: 1, topK: 3 }, rng));
      seenP.add(s.sample(flat, { temperature: 1, topP: 0.35 }, rng)); // 0.1 each: 4 tokens reach 0.35
    }
    assert.deepEqual([...seenK].sort(), [0, 1, 2]);
    assert.deepEqual([...seenP].sort(), [0, 1, 2, 3]);
  });

  it('top-p cut inside one quarter-nat bucket is exact', () => {
    // weights 1, 0.99, 0.98, 0.97 (all in bucket 0) plus a tail: nucleus must stop at the 2nd
    const probs = [0.97, 0.99, 1, 0.98, 0.001].map((x) => x / 3.941);
    const s = new Sampler(5);
    const rng = new Rng(11);
    const seen = new Set<number>();
    for (let i = 0; i < 3000; i++) seen.add(s.sample(logitsOf(probs), { temperature: 1, topP: 0.5 }, rng));
    assert.deepEqual([...seen].sort(), [1, 2]);
  });

  it('large top-k (full-sort path) matches the reference on a big vocabulary', () => {
    const V = 500;
    const logits = Float32Array.from({ length: V }, (_, i) => ((i * 7919) % 101) / 10);
    const s = new Sampler(V);
    const rng = new Rng(9);
    const order = [...logits.keys()].sort((a, b) => logits[b] - logits[a] || a - b);
    const allowed = new Set(order.slice(0, 100));
    for (let i = 0; i < 2000; i++) assert.ok(allowed.has(s.sample(logits, { temperature: 1, topP: 1, topK: 100 }, rng)));
  });

  it('the fused top-p pass draws exactly what the general top-k → top-p truncation draws', () => {
    // topK = V − 1 drops only the last id, whose logit is −200 (weight 0 in float64), so
    // the general path keeps the same nucleus with the same mass: same seed → same draws
    const V = 1024;
    const src = new Rng(4);
    const rows = Array.from({ length: 8 }, () => {
      const z = Float32Array.from({ length: V }, () => src.normal() * 2.5);
      z[V - 1] = -200;
      return z;
    });
    for (const topP of [0.3, 0.9, 0.999]) {
      const fused = new Sampler(V);
      const general = new Sampler(V);
      const r1 = new Rng(21);
      const r2 = new Rng(21);
      for (let i = 0; i < 400; i++) {
        const z = rows[i % rows.length]!;
        const a = fused.sample(z, { temperature: 0.7, topP }, r1);
        const b = general.sample(z, { temperature: 0.7, topP, topK: V - 1 }, r2);
        assert.equal(a, b, `topP ${topP}, draw ${i}`);
        assert.equal(fused.chosenLogprob, general.chosenLogprob);
      }
    }
  });
});

describe('Sampler.sampleFromTop (the decode graph’s candidate list)', () => {
  // what the decode graph computes: log softmax(z·invT), its top K (ties lower id first) and its running sum
  const candidates = (z: Float32Array, temperature: number, K: number): TopCandidates => {
    const invT = temperature > 0 ? 1 / temperature : 1;
    let max = -Infinity;
    for (const x of z) max = Math.max(max, x * invT);
    let total = 0;
    for (const x of z) total += Math.exp(x * invT - max);
    const logp = Array.from(z, (x) => x * invT - max - Math.log(total));
    const order = logp.map((lp, id) => ({ lp, id })).sort((a, b) => b.lp - a.lp || a.id - b.id).slice(0, K);
    const cdf = new Float32Array(z.length);
    let cum = 0;
    logp.forEach((lp, id) => (cdf[id] = cum += Math.exp(lp)));
    return { logprobs: Float32Array.from(order, (o) => o.lp), ids: BigInt64Array.from(order, (o) => BigInt(o.id)), cdf, logits: z };
  };

  it('draws what a pass over the logits draws, or declines without consuming the generator', () => {
    const V = 400;
    const K = 64;
    const src = new Rng(5);
    const peaked = Float32Array.from({ length: V }, () => src.normal() * 4);
    const flat = Float32Array.from({ length: V }, () => src.normal() * 0.3);
    const modes = [
      { temperature: 0, topP: 1 },
      { temperature: 1, topP: 1 },
      { temperature: 0.7, topP: 0.9 },
      { temperature: 1, topP: 0.95, topK: 30 },
      { temperature: 1.2, topP: 1, topK: 10 },
      { temperature: 1, topP: 1, topK: 100 }, // wider than K: declines
    ];
    for (const [name, z] of [['peaked', peaked], ['flat', flat]] as const) {
      for (const mode of modes) {
        const top = candidates(z, mode.temperature, K);
        const fast = new Sampler(V);
        const slow = new Sampler(V);
        const r1 = new Rng(8);
        const r2 = new Rng(8);
        let used = 0;
        for (let i = 0; i < 300; i++) {
          const before = r1.next();
          r2.next();
          const a = fast.sampleFromTop(top, mode, r1, 4);
          if (a === null) {
            // declined: the generator was not touched, so the next draws still agree
            assert.equal(r1.next(), r2.next(), `${name} ${JSON.stringify(mode)}: rng consumed on decline`);
            continue;
          }
          used++;
          const b = slow.sample(z, mode, r2, 4);
          assert.equal(a, b, `${name} ${JSON.stringify(mode)} draw ${i} (u ${before})`);
          assert.ok(Math.abs(fast.chosenLogprob - slow.chosenLogprob) < 1e-4, `${name} ${JSON.stringify(mode)}: logprob`);
          assert.deepEqual([...fast.topIds.subarray(0, 4)], [...slow.topIds.subarray(0, 4)]);
        }
        const mustDecline = mode.topK === 100 || (name === 'flat' && mode.topP < 1 && !mode.topK && mode.temperature > 0);
        assert.equal(used === 0, mustDecline, `${name} ${JSON.stringify(mode)}: used the list ${used} times`);
      }
    }
  });

  it('declines when more top logprobs are asked than the list holds', () => {
    const z = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i) * 3);
    const top = candidates(z, 1, 8);
    const s = new Sampler(50);
    const rng = new Rng(2);
    assert.equal(s.sampleFromTop(top, { temperature: 1, topP: 1 }, rng, 9), null);
    assert.notEqual(s.sampleFromTop(top, { temperature: 1, topP: 1 }, rng, 8), null);
    assert.equal(s.topCount, 8);
  });

  it('rejects a non-finite model output', () => {
    const z = Float32Array.of(1, 2, 3);
    const top = { ...candidates(z, 1, 3), logprobs: Float32Array.of(Number.NaN, 0, 0) };
    assert.throws(() => new Sampler(3).sampleFromTop(top, { temperature: 1, topP: 1 }, new Rng(1)), (e: unknown) => e instanceof NonFiniteError && e.code === 'non_finite');
    assert.throws(() => new Sampler(3).sample(Float32Array.of(1, Number.NaN, Number.POSITIVE_INFINITY), { temperature: 1, topP: 1 }, new Rng(1)), (e: unknown) => e instanceof NonFiniteError);
  });
});

// Issue 11: temperature 1e-39 made the decode graph's 1/T input float32 Infinity, the
// scaled logits NaN, and the request a 500. Below a threshold a temperature is greedy.
describe('tiny temperatures are greedy', () => {
  for (const t of [1e-39, 1e-30, Number.MIN_VALUE, GREEDY_TEMPERATURE]) {
    it(`temperature ${t}: the graph's 1/T is 1 (finite) and the sampler takes the argmax`, () => {
      const inv = graphInvTemperature(t);
      assert.ok(Number.isFinite(inv), `graphInvTemperature(${t}) = ${inv}`);
      assert.equal(inv, 1);
      const z = Float32Array.of(0.5, 2, 1.999, -3);
      const s = new Sampler(4);
      for (let seed = 0; seed < 20; seed++) assert.equal(s.sample(z, { temperature: t, topP: 1 }, new Rng(seed)), 1);
      assert.ok(Number.isFinite(s.chosenLogprob));
    });
  }

  it('just above the threshold sampling stays stochastic-capable and finite', () => {
    const t = GREEDY_TEMPERATURE * 2;
    assert.ok(Number.isFinite(graphInvTemperature(t)) && graphInvTemperature(t) > 1);
    const s = new Sampler(3);
    assert.equal(s.sample(Float32Array.of(0, 1, 0.5), { temperature: t, topP: 1 }, new Rng(1)), 1);
    assert.ok(Number.isFinite(s.chosenLogprob));
  });

  it('an invalid sampling parameter carries the engine code for client input', () => {
    assert.throws(() => validateSamplingParams({ temperature: Number.NaN, topP: 1 }), (e: unknown) => e instanceof SamplingParamsError && e.code === 'invalid_sampling_params' && !e.retriable);
  });
});
