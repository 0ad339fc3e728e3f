import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BIAS_PRESETS, BiasSpecError, NO_BIAS, formatBiasSpec, parseBiasSpec } from '../../../../src/scenario/users/bias-spec.js';

describe('parseBiasSpec', () => {
  it('parses the CLI syntax; missing keys are 0', () => {
    assert.deepEqual(parseBiasSpec('length=0.5,confidence=0.2,noise=0.1,adversarial=0.02'), {
      length: 0.5, confidence: 0.2, flattery: 0, sd: 0, noise: 0.1, adversarial: 0.02,
    });
    assert.deepEqual(parseBiasSpec(' flattery = 1 , sd=.3 '), { ...NO_BIAS, flattery: 1, sd: 0.3 });
    assert.deepEqual(parseBiasSpec(''), NO_BIAS);
    assert.deepEqual(parseBiasSpec('length=-0.5'), { ...NO_BIAS, length: -0.5 });
  });

  it('accepts preset names', () => {
    assert.deepEqual(parseBiasSpec('honest'), NO_BIAS);
    assert.deepEqual(parseBiasSpec(' mismatch '), parseBiasSpec(BIAS_PRESETS.mismatch!));
    assert.equal(parseBiasSpec('mild').length, 0.5);
    assert.throws(() => parseBiasSpec('toString'), /key=value/);
  });

  it('round-trips through formatBiasSpec', () => {
    const spec = parseBiasSpec('length=0.5,noise=0.1');
    assert.equal(formatBiasSpec(spec), 'length=0.5,noise=0.1');
    assert.deepEqual(parseBiasSpec(formatBiasSpec(spec)), spec);
  });

  it('rejects bad specs with an error naming the problem', () => {
    const rejects = (text: string, pattern: RegExp) =>
      assert.throws(() => parseBiasSpec(text), (err: unknown) => err instanceof BiasSpecError && err.retriable === false && pattern.test(err.message), text);
    rejects('lenght=0.5', /unknown bias "lenght".*known: length/);
    rejects('length', /key=value/);
    rejects('length=abc', /"length" needs a number, got "abc"/);
    rejects('length=', /"length" needs a number/);
    rejects('noise=1.5', /"noise"=1.5 is outside \[0, 1\]/);
    rejects('adversarial=-0.1', /"adversarial"/);
    rejects('length=0.1,length=0.2', /given twice/);
    rejects('length=0.1,,noise=0.1', /empty entry/);
    rejects('noise=0.7,adversarial=0.5', /must not exceed 1/);
    rejects('length=Infinity', /needs a number/);
  });
});
