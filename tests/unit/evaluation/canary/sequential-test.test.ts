import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../../src/engine/rng.js';
import { mixtureLikelihoodRatio, pairwiseEffect, sequentialDecision, thumbsUpEffect } from '../../../../src/evaluation/canary/sequential-test.js';

const OPTS = { alpha: 0.05, tau: 0.1, minSamples: 50 };

/** Streams thumbs to both arms, looking after every 10 votes per arm, until a decision or the budget. */
function simulateCanary(rng: Rng, pProd: number, pCanary: number, budget: number): 'promote' | 'rollback' | 'continue' {
  const prod = { up: 0, n: 0 };
  const can = { up: 0, n: 0 };
  while (can.n < budget) {
    for (let i = 0; i < 10; i++) {
      prod.n++;
      if (rng.next() < pProd) prod.up++;
      can.n++;
      if (rng.next() < pCanary) can.up++;
    }
    const d = sequentialDecision(thumbsUpEffect(prod, can), OPTS);
    if (d.decision !== 'continue') return d.decision;
  }
  return 'continue';
}

test('A/A canaries monitored after every 10 votes: the false-promotion rate stays within α', () => {
  const rng = new Rng(2026);
  const runs = 400;
  let promoted = 0;
  let rolledBack = 0;
  for (let r = 0; r < runs; r++) {
    const d = simulateCanary(rng, 0.6, 0.6, 2000);
    if (d === 'promote') promoted++;
    if (d === 'rollback') rolledBack++;
  }
  // nominal α = 0.05; 400 runs give a binomial standard error of ~0.011, so 0.05 + 2·SE
  assert.ok(promoted / runs <= 0.072, `false promotions ${promoted}/${runs}`);
  assert.ok(rolledBack / runs <= 0.072, `false rollbacks ${rolledBack}/${runs}`);
});

test('a canary users dislike is rolled back, one they prefer is promoted, within the sample budget', () => {
  const rng = new Rng(11);
  let rollbacks = 0;
  let promotions = 0;
  for (let r = 0; r < 50; r++) {
    if (simulateCanary(rng, 0.6, 0.45, 2000) === 'rollback') rollbacks++;
    if (simulateCanary(rng, 0.5, 0.65, 2000) === 'promote') promotions++;
  }
  assert.ok(rollbacks >= 48, `rolled back ${rollbacks}/50`);
  assert.ok(promotions >= 48, `promoted ${promotions}/50`);
});

test('no decision before the minimum sample size, however lopsided', () => {
  assert.equal(sequentialDecision(thumbsUpEffect({ up: 0, n: 20 }, { up: 20, n: 20 }), OPTS).decision, 'continue');
});

test('the likelihood ratio is 1 at no evidence and grows with |θ̂|/s', () => {
  assert.ok(Math.abs(mixtureLikelihoodRatio({ estimate: 0, variance: 1e-9, n: 10 }, 0.1) - Math.sqrt(1e-9 / (1e-9 + 0.01))) < 1e-12);
  const small = mixtureLikelihoodRatio({ estimate: 0.05, variance: 0.0004, n: 100 }, 0.1);
  const large = mixtureLikelihoodRatio({ estimate: 0.1, variance: 0.0004, n: 100 }, 0.1);
  assert.ok(large > small && small > 0);
});

test('pairwise votes: ties count half; the effect is the win rate minus ½', () => {
  const e = pairwiseEffect({ canaryWins: 30, productionWins: 10, ties: 10 });
  assert.ok(Math.abs(e.estimate - (35 / 50 - 0.5)) < 1e-12);
  assert.equal(e.n, 50);
  assert.ok(e.variance > 0);
});
