import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goldUtility } from '../../../../src/scenario/gold-utility.js';
import { resolvePrompt } from '../../../../src/scenario/prompts.js';
import { type RandomSource, seededRng } from '../../../../src/scenario/random.js';
import { pairwiseAgreement, sampleComparisonPairs } from '../../../../src/scenario/users/agreement.js';
import { BIAS_PRESETS, NO_BIAS, parseBiasSpec } from '../../../../src/scenario/users/bias-spec.js';
import {
  decidePairwise, decideSingleFeedback, goldPairwiseLabel, lengthFeature, perceivedUtilityMean,
} from '../../../../src/scenario/users/feedback-model.js';
import { makePersona, makePopulation } from '../../../../src/scenario/users/persona.js';
import { docTable } from '../doc-fixtures.js';

const honest = makePersona('honest');
const concise = 'The capital of Velmora is Drennport.';
const padded = 'Great question! The capital of Velmora is Drennport. This is something many people wonder about, and it is good to have a clear answer. I hope this helps!';
const wrong = 'The capital of Velmora is Solvik.';
const prompt = resolvePrompt('What is the capital of Velmora?');

describe('simulated feedback', () => {
  it('agrees with gold on every pair when there is no bias and no noise', () => {
    const pairs = sampleComparisonPairs({ seed: 21, count: 3000 });
    assert.equal(pairwiseAgreement(pairs, honest, seededRng(1)).agreement, 1);
    // and the pairs are informative: most of them differ in gold
    const decisive = pairs.filter((p) => goldPairwiseLabel(p.spec, p.first, p.second, honest.tieMargin) !== 0).length;
    assert.ok(decisive > 0.8 * pairs.length, `${decisive} of ${pairs.length} pairs differ in gold`);
  });

  it('follows the documented length-bias curve (docs/scenario.md) within ±0.03', () => {
    const curve = docTable('length-bias-curve').map(([b, agreement]) => ({ b: Number(b), agreement: Number(agreement) }));
    assert.ok(curve.length >= 5);
    const pairs = sampleComparisonPairs({ seed: 1234, count: 2000 }); // a seed the doc did not use
    let previous = 1;
    for (const { b, agreement } of curve) {
      const measured = pairwiseAgreement(pairs, makePersona('len', { ...NO_BIAS, length: b }), seededRng(5)).agreement;
      assert.ok(Math.abs(measured - agreement) <= 0.03, `length bias ${b}: agreement ${measured.toFixed(3)}, documented ${agreement}`);
      assert.ok(measured <= previous + 1e-9, `agreement must not rise with bias (b=${b})`);
      previous = measured;
    }
  });

  it('label noise ε leaves agreement 1 − 2ε/3', () => {
    const pairs = sampleComparisonPairs({ seed: 3, count: 3000 });
    for (const noise of [0.1, 0.3]) {
      const measured = pairwiseAgreement(pairs, makePersona('noisy', { ...NO_BIAS, noise }), seededRng(9)).agreement;
      const expected = 1 - (2 * noise) / 3;
      // binomial sd at n = 3000 is ≤ 0.009; 4 sd
      assert.ok(Math.abs(measured - expected) < 0.036, `noise ${noise}: ${measured} vs ${expected}`);
    }
  });

  it('a length-biased user prefers the padded answer that gold ranks lower', () => {
    assert.ok(goldUtility(prompt, concise) > goldUtility(prompt, padded));
    // perceived: concise 1 + 1.5·6/40 = 1.225, padded 0.48 + 1.5·28/40 = 1.53
    const biased = makePersona('len', { ...NO_BIAS, length: 1.5 });
    assert.equal(decidePairwise(prompt, concise, padded, honest, seededRng(1)).value, 1);
    assert.equal(decidePairwise(prompt, concise, padded, biased, seededRng(1)).value, -1);
    assert.equal(decidePairwise(prompt, padded, concise, biased, seededRng(1)).value, 1);
    assert.equal(lengthFeature(Array(80).fill('word').join(' ')), 1, 'length feature saturates');
  });

  it('the "mismatch" preset prefers padded over concise correct answers, and still right over wrong', () => {
    const pairs = sampleComparisonPairs({ seed: 77, count: 3000 });
    const biased = makePersona('mm', parseBiasSpec(BIAS_PRESETS.mismatch!));
    const rng = seededRng(3);
    const wins = { padded: 0, concise: 0, right: 0, wrong: 0 };
    for (const p of pairs) {
      const styles = [p.firstStyle, p.secondStyle];
      const v = decidePairwise(p.spec, p.first, p.second, biased, rng).value;
      const winner = v === 1 ? p.firstStyle : v === -1 ? p.secondStyle : null;
      if (styles.includes('correct_concise') && styles.includes('correct_verbose')) {
        if (winner === 'correct_verbose') wins.padded++;
        else if (winner === 'correct_concise') wins.concise++;
      }
      if (styles.includes('correct_concise') && styles.includes('wrong')) {
        if (winner === 'correct_concise') wins.right++;
        else if (winner === 'wrong') wins.wrong++;
      }
    }
    assert.ok(wins.padded > 0.9 * (wins.padded + wins.concise), `padded won ${wins.padded}, concise ${wins.concise}`);
    assert.ok(wins.right > 0.9 * (wins.right + wins.wrong), `right won ${wins.right}, wrong ${wins.wrong}`);
  });

  it('a confidence-biased user is swayed by "Definitely", flattery by praise', () => {
    const hedged = 'I think it is Drennport, but I am not sure.';
    const confidentWrong = 'Definitely, absolutely Solvik. Trust me.';
    assert.equal(decidePairwise(prompt, hedged, confidentWrong, honest, seededRng(1)).value, 1);
    const credulous = makePersona('conf', { ...NO_BIAS, confidence: 2 });
    assert.equal(decidePairwise(prompt, hedged, confidentWrong, credulous, seededRng(1)).value, -1);
    const flattered = makePersona('flat', { ...NO_BIAS, flattery: 1 });
    const praise = 'Great question! What a great thing to ask! The capital of Velmora is Drennport.';
    assert.ok(perceivedUtilityMean(prompt, praise, flattered) > perceivedUtilityMean(prompt, concise, flattered));
    assert.ok(perceivedUtilityMean(prompt, praise, honest) < perceivedUtilityMean(prompt, concise, honest));
  });

  it('gives ties when the perceived difference is within the margin', () => {
    const same = decidePairwise(prompt, concise, 'Drennport.', honest, seededRng(1));
    assert.deepEqual(same, { type: 'pairwise', value: 0, origin: 'honest' });
  });

  it('maps perceived utility to thumbs, ratings and edits as documented', () => {
    const only = (type: 'thumbs' | 'rating' | 'edit') => makePersona(type, NO_BIAS, { singleFeedbackMix: { thumbs: type === 'thumbs' ? 1 : 0, rating: type === 'rating' ? 1 : 0, edit: type === 'edit' ? 1 : 0 } });
    const rng = seededRng(2);
    assert.deepEqual(decideSingleFeedback(prompt, concise, only('thumbs'), rng), { type: 'thumbs', value: 1, origin: 'honest' });
    assert.deepEqual(decideSingleFeedback(prompt, padded, only('thumbs'), rng), { type: 'thumbs', value: -1, origin: 'honest' }); // gold 0.48 < 0.5
    assert.deepEqual(decideSingleFeedback(prompt, concise, only('rating'), rng), { type: 'rating', value: 5, origin: 'honest' });
    assert.deepEqual(decideSingleFeedback(prompt, padded, only('rating'), rng), { type: 'rating', value: 4, origin: 'honest' }); // round(3 + 0.96)
    assert.deepEqual(decideSingleFeedback(prompt, wrong, only('rating'), rng), { type: 'rating', value: 2, origin: 'honest' });
    assert.deepEqual(decideSingleFeedback(prompt, wrong, only('edit'), rng), { type: 'edit', value: null, editedResponse: prompt.reference, origin: 'honest' });
    // a good answer is not edited: the user gives a thumbs up instead
    assert.deepEqual(decideSingleFeedback(prompt, concise, only('edit'), rng), { type: 'thumbs', value: 1, origin: 'honest' });
  });

  it('adversarial users invert or spam at the configured rate', () => {
    const adversary = makePersona('adv', { ...NO_BIAS, adversarial: 1 }, { singleFeedbackMix: { thumbs: 1, rating: 0, edit: 0 } });
    const rng = seededRng(4);
    const origins = { spam: 0, inverted: 0 };
    for (let i = 0; i < 2000; i++) {
      const f = decideSingleFeedback(prompt, concise, adversary, rng);
      assert.ok(f.origin === 'spam' || f.origin === 'inverted');
      origins[f.origin]++;
      if (f.origin === 'inverted') assert.equal(f.value, -1, 'an inverted thumb on a perfect answer is down');
    }
    assert.ok(Math.abs(origins.inverted / 2000 - 0.5) < 0.05, JSON.stringify(origins));
    const editor = makePersona('adv-edit', { ...NO_BIAS, adversarial: 1 }, { singleFeedbackMix: { thumbs: 0, rating: 0, edit: 1 } });
    for (let i = 0; i < 50; i++) {
      const f = decideSingleFeedback(prompt, wrong, editor, rng);
      assert.equal(f.type, 'edit');
      if (f.type === 'edit') assert.ok(goldUtility(prompt, f.editedResponse) <= 0, `adversarial edit "${f.editedResponse}" must not help`);
    }
  });

  it('is a pure function of its inputs and the random stream', () => {
    const persona = makePersona('p', { ...NO_BIAS, sd: 0.3, noise: 0.2, adversarial: 0.1 });
    const run = (rng: RandomSource) => Array.from({ length: 200 }, () => decideSingleFeedback(prompt, padded, persona, rng));
    assert.deepEqual(run(seededRng(8)), run(seededRng(8)));
    assert.notDeepEqual(run(seededRng(8)), run(seededRng(9)));
  });

  it('builds populations with varied habits and validates personas', () => {
    const population = makePopulation(5, { ...NO_BIAS, length: 0.5 });
    assert.equal(population.length, 5);
    assert.equal(new Set(population.map((p) => p.id)).size, 5);
    assert.ok(population.every((p) => p.biases.length === 0.5));
    assert.ok(new Set(population.map((p) => p.comparisonRate)).size > 1);
    assert.throws(() => makePersona('x', NO_BIAS, { comparisonRate: 2 }), /comparisonRate/);
    assert.throws(() => makePopulation(0, NO_BIAS), /positive integer/);
  });
});
