// The canary verdict under continuous monitoring: A/A canaries (the canary is the same
// model) must be promoted at most at the nominal rate α however often one looks; a
// canary users dislike rolls back and one they prefer is promoted within the budget;
// guards and limits roll back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canaryVerdict, DEFAULT_CANARY_POLICY, type CanaryObservation, type CanaryPolicy } from '../../../../src/evaluation/canary/canary-verdict.js';
import { mulberry32 } from '../../../support/mulberry32.js';

const policy: CanaryPolicy = { ...DEFAULT_CANARY_POLICY, minSamples: 30, maxSamples: 1000 };
const LOOK_EVERY = 10; // observations per arm between looks

function empty(): CanaryObservation {
  return { thumbs: { production: { up: 0, n: 0 }, canary: { up: 0, n: 0 } }, pairwise: { canaryWins: 0, productionWins: 0, ties: 0 }, guards: { errorRate: null, p99LatencyMs: null, benignRefusalRate: null } };
}

/** Run one simulated canary to its verdict, looking after every batch. */
function simulate(seed: number, productionUp: number, canaryUp: number, canaryWinRate: number | null): { decision: string; samples: number } {
  const rand = mulberry32(seed);
  const obs = empty();
  for (;;) {
    for (let i = 0; i < LOOK_EVERY; i++) {
      obs.thumbs.production.n++;
      if (rand() < productionUp) obs.thumbs.production.up++;
      obs.thumbs.canary.n++;
      if (rand() < canaryUp) obs.thumbs.canary.up++;
      if (canaryWinRate !== null) {
        if (rand() < canaryWinRate) obs.pairwise.canaryWins++;
        else obs.pairwise.productionWins++;
      }
    }
    const v = canaryVerdict(obs, policy, 0, Number.POSITIVE_INFINITY);
    if (v.decision !== 'continue') return { decision: v.decision, samples: v.samples };
  }
}

describe('canaryVerdict', () => {
  it('A/A: the false-promotion rate over 300 continuously monitored canaries is within α', () => {
    const runs = 300;
    let promoted = 0;
    for (let s = 0; s < runs; s++) if (simulate(1000 + s, 0.5, 0.5, 0.5).decision === 'promote') promoted++;
    const rate = promoted / runs;
    // each of the two tests bounds its false promotion by α; a union bound over both
    assert.ok(rate <= 2 * policy.alpha, `false-promotion rate ${rate} > ${2 * policy.alpha}`);
    assert.ok(rate <= policy.alpha, `false-promotion rate ${rate} above the nominal α=${policy.alpha}`);
  });

  it('a canary users dislike rolls back, and one they prefer is promoted, within the sample budget', () => {
    for (let s = 0; s < 20; s++) {
      const worse = simulate(s, 0.6, 0.4, null);
      assert.equal(worse.decision, 'rollback');
      assert.ok(worse.samples <= policy.maxSamples);
      assert.equal(simulate(100 + s, 0.4, 0.6, null).decision, 'promote');
      assert.equal(simulate(200 + s, 0.5, 0.5, 0.7).decision, 'promote', 'pairwise wins alone promote');
    }
  });

  it('rolls back on a breached guard, on the spent budget and at the time limit; never promotes below the minimum sample size', () => {
    const obs = empty();
    obs.thumbs = { production: { up: 0, n: 10 }, canary: { up: 10, n: 10 } };
    assert.equal(canaryVerdict(obs, policy, 0, 1000).decision, 'continue', 'below minSamples');
    assert.match(canaryVerdict({ ...obs, guards: { errorRate: 0.2, p99LatencyMs: null, benignRefusalRate: null } }, policy, 0, 1000).reason, /5xx rate/);
    // judged against production: a guard both arms breach alike (a loaded machine) is not the canary's fault
    const slow = { errorRate: 0, p99LatencyMs: 20_000, benignRefusalRate: 0.3 };
    assert.equal(canaryVerdict({ ...obs, guards: slow, productionGuards: { errorRate: 0, p99LatencyMs: 25_000, benignRefusalRate: 0.35 } }, policy, 0, 1000).decision, 'continue');
    assert.match(canaryVerdict({ ...obs, guards: slow, productionGuards: { errorRate: 0, p99LatencyMs: 900, benignRefusalRate: 0.35 } }, policy, 0, 1000).reason, /p99 latency 20000 ms > 10000 ms, production 900/);
    assert.match(canaryVerdict({ ...obs, guards: slow, productionGuards: { errorRate: 0, p99LatencyMs: 25_000, benignRefusalRate: 0.05 } }, policy, 0, 1000).reason, /benign refusal rate 0.300 > 0.2, production 0.050/);
    assert.match(canaryVerdict(obs, policy, 1000, 1000).reason, /time limit/);
    const flat = empty();
    flat.thumbs = { production: { up: 500, n: 1000 }, canary: { up: 500, n: 1000 } };
    assert.match(canaryVerdict(flat, policy, 0, 1000).reason, /sample budget spent/);
  });
});
