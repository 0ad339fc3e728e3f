import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  type EvalPromptLike, type EvalSample, builtinScorerRegistry, compareSamples, evaluateSamples, judgeScorerFactory, parseEvalSuite, promptSetHash, resolveSuite,
} from '../../../../src/evaluation/suites/index.js';
import { EvaluationInputError } from '../../../../src/evaluation/errors.js';
import { k3 } from '../../../../src/rlhf/ppo/kl.js';

const registry = builtinScorerRegistry();
const prompts: EvalPromptLike[] = Array.from({ length: 30 }, (_, i) => ({ id: `p${i}`, messages: [{ role: 'user', content: `What is ${i} + 1?` }], reference: `${i + 1}` }));
const suite = resolveSuite(parseEvalSuite({
  name: 'math',
  promptSet: { name: 'math', sha256: promptSetHash(prompts) },
  scorers: [
    { name: 'correct', type: 'numeric', options: { tolerance: 0 } },
    { name: 'hedges', type: 'phrase_count', options: { phrases: ['i think', 'maybe'] } },
  ],
}, registry), { math: prompts }, registry);

// two seeds per prompt; the "incumbent" answers tersely and right on 2/3 of prompts
const samplesOf = (answer: (i: number, seed: number) => string): EvalSample[] => prompts.flatMap((_, i) => [1, 2].map((seed) => ({
  promptId: `p${i}`, seed, response: answer(i, seed), tokens: answer(i, seed).split(' ').length + 1,
  logprobs: [-1, -2], refLogprobs: [-1.5, -2 + 0.1 * seed],
})));
const incumbent = samplesOf((i) => (i % 3 === 0 ? `It is ${i + 7}` : `It is ${i + 1}`));
const candidate = samplesOf((i, seed) => (i % 3 === 0 && seed === 1 ? `I think maybe it is ${i + 7}` : `I think it is ${i + 1}`));

describe('evaluateSamples', () => {
  it('every scorer and diagnostic with a bootstrap CI over prompts', async () => {
    const e = await evaluateSamples(suite, incumbent, { seed: 3, resamples: 400 });
    const m = e.metrics;
    assert.equal(e.prompts, 30);
    assert.equal(e.samples, 60);
    assert.ok(Math.abs(m['math.correct']!.value - 20 / 30) < 1e-12);
    assert.ok(m['math.correct']!.lower < 20 / 30 && m['math.correct']!.upper > 20 / 30);
    assert.equal(m['math.hedges']!.value, 0);
    assert.equal(m['math.length.words.mean']!.value, 3);
    assert.equal(m['math.length.tokens.p90']!.value, 4);
    // per response: k1 = Σ (logπ − logπref) = 0.5 − 0.1·seed; mean over seeds 1, 2 → 0.35
    assert.ok(Math.abs(m['math.kl.k1']!.value - 0.35) < 1e-12);
    assert.ok(Math.abs(m['math.kl.k3']!.value - (k3(-1, -1.5) + (k3(-2, -1.9) + k3(-2, -1.8)) / 2)) < 1e-12);
    assert.equal(m['math.repetition']!.value, 0);
    // words: "it", "is" and 30 distinct numbers (a prompt's two seeds repeat the same text): 32 of 180
    assert.ok(Math.abs(m['math.distinct1']!.value - 32 / 180) < 1e-12, String(m['math.distinct1']!.value));
    assert.deepEqual(e.labels.correct, { right: 40, wrong: 20 });
  });

  it('awaits an asynchronous scorer (an external judge) and counts its labels', async () => {
    const withJudge = builtinScorerRegistry().register(judgeScorerFactory('judge', {
      judge: async (p, response) => ({ value: response.includes(String(Number(p.reference))) ? 1 : 0, label: 'judged' }),
    }));
    const judged = resolveSuite(parseEvalSuite({ name: 'judged', promptSet: { name: 'math', sha256: promptSetHash(prompts) }, scorers: [{ name: 'judge', type: 'judge' }] }, withJudge), { math: prompts }, withJudge);
    const e = await evaluateSamples(judged, incumbent, { seed: 1, resamples: 50 });
    assert.ok(Math.abs(e.metrics['judged.judge']!.value - 20 / 30) < 1e-12);
    assert.deepEqual(e.labels, { judge: { judged: 60 } });
  });

  it('is deterministic for a seed and does not depend on the order of the samples', async () => {
    const a = await evaluateSamples(suite, candidate, { seed: 9, resamples: 200 });
    const b = await evaluateSamples(suite, [...candidate].reverse(), { seed: 9, resamples: 200 });
    assert.deepEqual(a, b);
    const c = await evaluateSamples(suite, candidate, { seed: 10, resamples: 200 });
    assert.notDeepEqual(a.metrics['math.correct'], c.metrics['math.correct']);
  });

  it('refuses samples that are not the pinned set: an unknown prompt, a missing one, a duplicate, bad log-probs', async () => {
    const field = async (samples: EvalSample[]): Promise<string> => {
      try {
        await evaluateSamples(suite, samples, { seed: 1 });
      } catch (e) {
        assert.ok(e instanceof EvaluationInputError);
        return e.field;
      }
      assert.fail('expected EvaluationInputError');
    };
    assert.equal(await field([...incumbent, { promptId: 'p99', response: 'x' }]), 'samples[60].promptId');
    assert.equal(await field(incumbent.filter((s) => s.promptId !== 'p4')), 'samples');
    assert.equal(await field([...incumbent, incumbent[0]!]), 'samples[60]');
    assert.equal(await field([{ ...incumbent[0]!, refLogprobs: [-1] }, ...incumbent.slice(1)]), 'samples[0].refLogprobs');
  });
});

describe('compareSamples', () => {
  it('paired differences on the same prompts and seeds; tighter than the two separate intervals', async () => {
    const r = await compareSamples(suite, candidate, incumbent, { seed: 5, resamples: 500 });
    const d = r.deltas['math.correct.delta']!;
    // the candidate fixes seed 2 of every third prompt: +10/60
    assert.ok(Math.abs(d.value - 10 / 60) < 1e-12);
    assert.ok(d.lower > 0, JSON.stringify(d));
    const width = (e: { lower: number; upper: number }): number => e.upper - e.lower;
    assert.ok(width(d) < width(r.candidate.metrics['math.correct']!) + width(r.incumbent.metrics['math.correct']!));
    assert.ok(Math.abs(r.deltas['math.hedges.delta']!.value - 70 / 60) < 1e-12);
    assert.ok(r.deltas['math.length.words.mean.delta']!.value > 1);
  });

  it('refuses sides that are not paired', async () => {
    await assert.rejects(compareSamples(suite, candidate, incumbent.map((s) => ({ ...s, seed: (s.seed ?? 0) + 10 })), { seed: 1 }), /not on both sides/);
  });
});
