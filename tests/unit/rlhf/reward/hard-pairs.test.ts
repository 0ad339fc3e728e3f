import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type HardPairSource, SCENARIO_STYLE_PHRASES, buildHardPairs, hardPairReport } from '../../../../src/rlhf/reward/hard-pairs.js';
import { buildEvalSets, fillerCount, goldBreakdown, goldUtility, resolvePrompt, wordCount } from '../../../../src/scenario/index.js';
import { defaultHardPairSeeds } from '../../../../src/rlhf/reward/train-rm.program.js';
import type { PreferenceRow } from '../../../../src/rlhf/reward/rm-data.js';

// held-out scenario prompts: the concise reference answer and the prompt's plausible wrong one
const evalSets = buildEvalSets();
const sources: HardPairSource[] = [...evalSets.extrinsic, ...evalSets.refusal, ...evalSets.diversity].map((p) => {
  const spec = resolvePrompt(p.messages[0]!.content);
  return { prompt: spec.text, right: spec.reference, wrong: spec.wrongReference };
});

describe('style-perturbed hard pairs', () => {
  const pairs = buildHardPairs(sources, { seed: 5 });

  it('builds every kind for every held-out prompt that has a wrong answer', () => {
    assert.equal(pairs.length, sources.length * 4);
    const first = pairs.filter((p) => p.source === 0);
    assert.deepEqual(first.map((p) => p.kind), ['padded', 'hedged', 'flattered', 'dressed']);
    for (const p of first.slice(0, 3)) {
      assert.equal(p.chosen, sources[0]!.right);
      assert.ok(p.rejected.includes(sources[0]!.right), 'the perturbed side keeps the right answer');
    }
    assert.ok(first[3]!.rejected.includes(sources[0]!.wrong!));
    assert.equal(buildHardPairs([{ prompt: 'q', right: 'a' }], { seed: 1 }).length, 3, 'no dressed pair without a wrong answer');
  });

  it('uses the scenario’s vocabulary: gold ranks the chosen side above the rejected one in every pair', () => {
    for (const p of pairs) {
      const chosen = goldUtility(p.prompt, p.chosen), rejected = goldUtility(p.prompt, p.rejected);
      assert.ok(chosen > rejected, `${p.kind}: "${p.chosen}" (${chosen}) vs "${p.rejected}" (${rejected})`);
      if (p.kind !== 'dressed') assert.equal(goldBreakdown(p.prompt, p.rejected).correctness, 'right', `padding changed correctness: ${p.rejected}`);
    }
    // the perturbations are the style a biased user rewards: longer, with filler phrases
    for (const p of pairs) {
      assert.ok(wordCount(p.rejected) > wordCount(p.chosen));
      assert.ok(fillerCount(p.rejected) > 0);
    }
  });

  it('is deterministic for a seed and takes phrase lists as a parameter', () => {
    assert.deepEqual(buildHardPairs(sources, { seed: 5 }), pairs);
    const custom = buildHardPairs([{ prompt: 'q', right: 'Paris.' }], {
      seed: 1, kinds: ['flattered', 'hedged'],
      phrases: { ...SCENARIO_STYLE_PHRASES, flattery: ['Brilliant!'], hedges: [['Possibly', '(not sure)']] },
    });
    assert.deepEqual(custom.map((p) => p.rejected), ['Brilliant! Paris.', 'Possibly Paris. (not sure)']);
    assert.throws(() => buildHardPairs(sources, { seed: 1, phrases: { ...SCENARIO_STYLE_PHRASES, padding: [] } }), /phrases\.padding: needs at least one entry/);
    assert.throws(() => buildHardPairs([{ prompt: 'q', right: ' ' }], { seed: 1 }), /sources\[0\]\.right/);
  });
});

describe('hard-pair report', () => {
  const pairs = buildHardPairs(sources, { seed: 5 });

  it('a length-loving RM falls below chance; a gold-like RM wins every pair; the paired delta shows it', () => {
    const scores = pairs.map((p) => ({
      kind: p.kind,
      scoreChosen: goldUtility(p.prompt, p.chosen),
      scoreRejected: goldUtility(p.prompt, p.rejected),
      previousScoreChosen: wordCount(p.chosen),
      previousScoreRejected: wordCount(p.rejected),
    }));
    const r = hardPairReport(scores, { seed: 2, resamples: 300 });
    assert.equal(r.accuracy.value, 1);
    assert.ok(r.previousAccuracy!.value < 0.3, `length RM ${r.previousAccuracy!.value}`);
    assert.equal(r.accuracyByKind.padded!.value, 1);
    assert.ok(r.deltaVsPrevious!.lower > 0.5);
  });

  it('ties count ½; previous scores must cover all pairs or none', () => {
    const r = hardPairReport([{ kind: 'padded', scoreChosen: 1, scoreRejected: 1 }, { kind: 'hedged', scoreChosen: 2, scoreRejected: 1 }], { seed: 1, resamples: 50 });
    assert.equal(r.accuracy.value, 0.75);
    assert.equal(r.deltaVsPrevious, null);
    assert.equal(r.accuracyByKind.dressed, null);
    assert.throws(() => hardPairReport([
      { kind: 'padded', scoreChosen: 1, scoreRejected: 0, previousScoreChosen: 1, previousScoreRejected: 0 },
      { kind: 'padded', scoreChosen: 1, scoreRejected: 0 },
    ], { seed: 1 }), /the previous RM scored 1 of 2 hard pairs/);
  });
});

describe('hard-pair seeds from live held-out pairs', () => {
  it('an empty chosen answer seeds nothing and an empty rejected one no wrong answer, so a real snapshot never fails the RM job', () => {
    const row = (promptHash: string, chosen: string, rejected: string): PreferenceRow => ({ promptHash, prompt: [{ role: 'user', content: `q ${promptHash}` }], chosen, rejected, margin: 0, source: 'pairwise' });
    const seeds = defaultHardPairSeeds([row('a', 'Oslo is the capital.', ''), row('b', '', 'Bergen.'), row('b', 'Two.', 'Three.'), row('a', 'again', 'x'), row('c', 'Four.', '  ')]);
    assert.deepEqual(seeds.map((s) => [s.right, s.wrong]), [['Oslo is the capital.', undefined], ['Two.', 'Three.'], ['Four.', undefined]]);
    assert.ok(buildHardPairs(seeds.map((s) => ({ prompt: 'q', right: s.right, ...(s.wrong !== undefined ? { wrong: s.wrong } : {}) })), { seed: 1 }).length > 0);
  });
});
