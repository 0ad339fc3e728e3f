import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideRmQualityGate, parseRmQualityGate, rmGateMetrics, RmQualityGateConfigError } from '../../../../src/rlhf/reward/quality-gate.js';
import { type HeldOutPairScores, rewardModelReport } from '../../../../src/rlhf/reward/report.js';
import { buildHardPairs, hardPairReport } from '../../../../src/rlhf/reward/hard-pairs.js';
import {
  type PromptSpec, RESPONSE_STYLES, buildEvalSets, goldUtility, makePersona, parseBiasSpec, perceivedUtilityMean, pickOne,
  resolvePrompt, seededRng, wordCount, writeResponse,
} from '../../../../src/scenario/index.js';
import type { Estimate } from '../../../../src/evaluation/statistics/index.js';

const est = (value: number, lower = value - 0.05, upper = value + 0.05): Estimate => ({ value, lower, upper, se: 0.025, level: 0.95, resamples: 1000 });

const config = parseRmQualityGate({
  heldOutAccuracy: { min: 0.7, minLower: 0.65 },
  ece: { max: 0.1 },
  lengthCorrelation: { max: 0.3 },
  agreementWithPrevious: { min: 0.6 },
  hardPairs: { minAccuracy: 0.5, minDeltaVsPrevious: 0 },
});

const good = {
  heldOutAccuracy: est(0.8, 0.75, 0.85), ece: est(0.04), lengthCorrelation: est(0.05), agreementWithPrevious: est(0.75),
  hardPairAccuracy: est(0.7), hardPairDeltaVsPrevious: est(0.02),
};

describe('RM quality gate', () => {
  it('passes an RM that meets every threshold and records each rule’s value, threshold and result', () => {
    const d = decideRmQualityGate(config, good);
    assert.equal(d.verdict, 'pass');
    assert.equal(d.rules.length, 7);
    const lower = d.rules.find((r) => r.rule === 'heldOutAccuracy.minLower')!;
    assert.deepEqual([lower.value, lower.threshold, lower.comparator, lower.result], [0.75, 0.65, '>=', 'pass']);
    assert.deepEqual(lower.interval, { lower: 0.75, upper: 0.85, level: 0.95 });
  });

  it('fails an RM whose length correlation is above the ceiling (the mismatch RM), and one whose CI is too wide', () => {
    const d = decideRmQualityGate(config, { ...good, lengthCorrelation: est(0.62) });
    assert.equal(d.verdict, 'fail');
    assert.deepEqual(d.rules.filter((r) => r.result === 'fail').map((r) => [r.rule, r.value]), [['lengthCorrelation.max', 0.62]]);
    const wide = decideRmQualityGate(config, { ...good, heldOutAccuracy: est(0.72, 0.6, 0.84) });
    assert.deepEqual(wide.rules.filter((r) => r.result === 'fail').map((r) => r.rule), ['heldOutAccuracy.minLower']);
  });

  it('an RM that loses to the previous one on hard pairs fails', () => {
    const d = decideRmQualityGate(config, { ...good, hardPairDeltaVsPrevious: est(-0.1) });
    assert.equal(d.verdict, 'fail');
    assert.equal(d.rules.find((r) => r.rule === 'hardPairs.minDeltaVsPrevious')!.result, 'fail');
  });

  it('a missing metric is never a silent pass: needs_review, naming it', () => {
    const { ece: _ece, ...withoutEce } = good;
    const d = decideRmQualityGate(config, withoutEce);
    assert.equal(d.verdict, 'needs_review');
    assert.deepEqual(d.missing, ['ece']);
    assert.equal(d.rules.find((r) => r.rule === 'ece.max')!.result, 'missing');
    // NaN (e.g. a length correlation of constant scores) is missing too, and a failure still wins
    const nan = decideRmQualityGate(config, { ...good, lengthCorrelation: est(Number.NaN), heldOutAccuracy: est(0.5) });
    assert.equal(nan.verdict, 'fail');
    assert.deepEqual(nan.missing, ['lengthCorrelation']);
  });

  it('with no previous RM, the comparisons are not_applicable — stated in the verdict, and the gate can pass', () => {
    const d = decideRmQualityGate(config, { ...good, agreementWithPrevious: 'no_previous', hardPairDeltaVsPrevious: 'no_previous' });
    assert.equal(d.verdict, 'pass');
    const na = d.rules.filter((r) => r.result === 'not_applicable');
    assert.deepEqual(na.map((r) => r.rule), ['agreementWithPrevious.min', 'hardPairs.minDeltaVsPrevious']);
    assert.match(na[0]!.reason!, /no previous production reward model/);
  });

  it('takes its metrics from the two reports; a previous RM without scores is missing, not skipped', () => {
    const report = rewardModelReport([
      { source: 'pairwise', chosenLength: 5, rejectedLength: 9, scoreChosen: [1, 1.2], scoreRejected: [0, 0.1] },
      { source: 'edit', chosenLength: 7, rejectedLength: 6, scoreChosen: [0.5, 0.4], scoreRejected: [0.2, 0.3] },
    ], { seed: 1, resamples: 50 });
    const hard = hardPairReport([{ kind: 'padded', scoreChosen: 1, scoreRejected: 0 }], { seed: 1, resamples: 50 });
    const m = rmGateMetrics(report, hard, true);
    assert.equal(m.heldOutAccuracy, report.accuracy);
    assert.equal(m.lengthCorrelation, report.length.scoreLengthSpearman);
    const d = decideRmQualityGate(parseRmQualityGate({ agreementWithPrevious: { min: 0.6 }, hardPairs: { minDeltaVsPrevious: 0 } }), m);
    assert.equal(d.verdict, 'needs_review');
    assert.deepEqual(d.missing, ['agreementWithPrevious', 'hardPairDeltaVsPrevious']);
  });

  it('refuses a bad configuration at load, naming the rule path', () => {
    const problems = (input: unknown): string[] => {
      try {
        parseRmQualityGate(input);
      } catch (e) {
        assert.ok(e instanceof RmQualityGateConfigError);
        return e.problems;
      }
      assert.fail('expected RmQualityGateConfigError');
    };
    assert.deepEqual(problems({ ece: { maxx: 0.1 } }), [
      'rmQualityGate.ece.max: Invalid input: expected number, received undefined',
      'rmQualityGate.ece.maxx: unknown rule (known here: max)',
    ]);
    assert.deepEqual(problems({ lenghtCorrelation: { max: 0.3 } }), [
      'rmQualityGate.lenghtCorrelation: unknown rule (known here: heldOutAccuracy, ece, lengthCorrelation, agreementWithPrevious, hardPairs)',
    ]);
    assert.match(problems({ heldOutAccuracy: { min: 1.5 } })[0]!, /^rmQualityGate\.heldOutAccuracy\.min: Too big/);
    assert.match(problems({ ece: { max: '0.1' } })[0]!, /^rmQualityGate\.ece\.max: Invalid input: expected number, received string/);
    assert.deepEqual(problems({}), ['rmQualityGate: sets no threshold; a gate without rules would pass every RM']);
  });
});

describe('RM quality gate on the reference scenario (oracle scores standing in for trained RMs)', () => {
  // Held-out pairs: two responses of mixed styles to each held-out prompt, labelled by gold.
  // "Honest RM" members score gold + noise; "mismatch RM" members score what a `mismatch`
  // user perceives (gold + length + flattery + confidence) + noise — the reward a model
  // trained on that feedback would learn.
  const rng = seededRng(7);
  const mismatchUser = makePersona('mismatch', parseBiasSpec('mismatch'));
  const evalSets = buildEvalSets();
  const specs = [...evalSets.extrinsic, ...evalSets.refusal, ...evalSets.diversity].map((p) => resolvePrompt(p.messages[0]!.content));
  const members = (score: () => number): number[] => [0, 1, 2].map(() => score() + 0.05 * rng.normal());
  const honestRm = (spec: PromptSpec, text: string): number[] => members(() => goldUtility(spec, text));
  const mismatchRm = (spec: PromptSpec, text: string): number[] => members(() => perceivedUtilityMean(spec, text, mismatchUser));
  const sources = ['pairwise', 'edit', 'rating', 'thumbs'] as const;
  const honest: HeldOutPairScores[] = [], mismatch: HeldOutPairScores[] = [];
  for (const [i, spec] of specs.entries()) {
    const a = writeResponse(rng, spec, pickOne(rng, RESPONSE_STYLES)), b = writeResponse(rng, spec, pickOne(rng, RESPONSE_STYLES));
    if (goldUtility(spec, a) === goldUtility(spec, b)) continue;
    const [chosen, rejected] = goldUtility(spec, a) > goldUtility(spec, b) ? [a, b] : [b, a];
    const base = { source: sources[i % 4]!, chosenLength: wordCount(chosen), rejectedLength: wordCount(rejected), goldPreference: 1 as const };
    honest.push({ ...base, scoreChosen: honestRm(spec, chosen), scoreRejected: honestRm(spec, rejected) });
    mismatch.push({ ...base, scoreChosen: mismatchRm(spec, chosen), scoreRejected: mismatchRm(spec, rejected) });
  }
  const hard = buildHardPairs(specs.map((s) => ({ prompt: s.text, right: s.reference, wrong: s.wrongReference })), { seed: 3 });
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  const specOf = (text: string): PromptSpec => resolvePrompt(text);
  const gate = parseRmQualityGate({ heldOutAccuracy: { min: 0.7 }, lengthCorrelation: { max: 0.3 }, hardPairs: { minAccuracy: 0.5, minDeltaVsPrevious: 0 } });

  it('the honest RM passes; its length correlation is near 0', () => {
    const report = rewardModelReport(honest, { seed: 1, resamples: 200 });
    assert.ok(report.length.scoreLengthSpearman.value < 0.1, `honest ρ ${report.length.scoreLengthSpearman.value}`);
    const hardReport = hardPairReport(hard.map((p) => ({ kind: p.kind, scoreChosen: mean(honestRm(specOf(p.prompt), p.chosen)), scoreRejected: mean(honestRm(specOf(p.prompt), p.rejected)) })), { seed: 1, resamples: 200 });
    const d = decideRmQualityGate(gate, rmGateMetrics(report, hardReport, false));
    assert.equal(d.verdict, 'pass', JSON.stringify(d.rules));
  });

  it('the mismatch RM shows a clearly positive length correlation, loses to the honest RM on hard pairs, and is rejected', () => {
    const report = rewardModelReport(mismatch, { seed: 1, resamples: 200 });
    assert.ok(report.length.scoreLengthSpearman.lower > 0.4, `mismatch ρ ${JSON.stringify(report.length.scoreLengthSpearman)}`);
    const hardReport = hardPairReport(hard.map((p) => {
      const spec = specOf(p.prompt);
      return {
        kind: p.kind,
        scoreChosen: mean(mismatchRm(spec, p.chosen)), scoreRejected: mean(mismatchRm(spec, p.rejected)),
        previousScoreChosen: mean(honestRm(spec, p.chosen)), previousScoreRejected: mean(honestRm(spec, p.rejected)),
      };
    }), { seed: 1, resamples: 200 });
    assert.ok(hardReport.accuracyByKind.padded!.value < 0.2, `padded ${hardReport.accuracyByKind.padded!.value}`);
    const d = decideRmQualityGate(gate, rmGateMetrics(report, hardReport, true));
    assert.equal(d.verdict, 'fail');
    const failed = d.rules.filter((r) => r.result === 'fail').map((r) => r.rule);
    assert.ok(failed.includes('lengthCorrelation.max') && failed.includes('hardPairs.minDeltaVsPrevious'), failed.join(', '));
  });
});
