import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ScenarioArgsError, parseDurationS, parseScenarioRunArgs } from '../../../../src/scenario/loadgen/cli-args.js';
import { BiasSpecError, NO_BIAS } from '../../../../src/scenario/users/bias-spec.js';

describe('outerloop scenario run arguments', () => {
  it('parses the documented command line', () => {
    const options = parseScenarioRunArgs(['--users', '8', '--rate', '2.5', '--duration', '2m', '--bias', 'length=0.5,confidence=0.2,noise=0.1,adversarial=0.02', '--url', 'http://localhost:8080', '--api-key=sk-1', '--compare', 'versions']);
    assert.deepEqual(options, {
      baseUrl: 'http://localhost:8080', users: 8, rate: 2.5, durationS: 120,
      bias: { ...NO_BIAS, length: 0.5, confidence: 0.2, noise: 0.1, adversarial: 0.02 },
      seed: 1, progressIntervalS: 5, apiKey: 'sk-1', compare: 'versions',
    });
  });

  it('reads durations in s, m, h', () => {
    assert.equal(parseDurationS('90'), 90);
    assert.equal(parseDurationS('90s'), 90);
    assert.equal(parseDurationS('1.5m'), 90);
    assert.equal(parseDurationS('1h'), 3600);
    assert.throws(() => parseDurationS('soon'), /--duration/);
  });

  it('names the flag that is wrong', () => {
    const base = ['--users', '2', '--rate', '1', '--duration', '10', '--url', 'http://x'];
    const rejects = (argv: string[], pattern: RegExp, type: new (...a: never[]) => Error = ScenarioArgsError) =>
      assert.throws(() => parseScenarioRunArgs(argv), (err: unknown) => err instanceof type && pattern.test((err as Error).message), argv.join(' '));
    rejects(base.slice(2), /--users is required/);
    rejects(['--users', '2', '--rate', '1', '--duration', '10'], /--url is required/);
    rejects([...base, '--users', '3'], /--users is given twice/);
    rejects(['--users', '0', ...base.slice(2)], /--users must be an integer ≥ 1/);
    rejects(['--users', 'two', ...base.slice(2)], /--users must be an integer/);
    rejects([...base, '--speed', '3'], /unknown flag --speed/);
    rejects([...base, '--seed'], /--seed needs a value/);
    rejects([...base, '--compare', 'both'], /--compare must be/);
    rejects([...base, 'extra'], /unexpected argument "extra"/);
    rejects([...base, '--bias', 'lenght=1'], /unknown bias "lenght"/, BiasSpecError);
  });
});
