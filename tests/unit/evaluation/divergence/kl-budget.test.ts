import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { klBudget } from '../../../../src/evaluation/divergence/index.js';

describe('cumulative KL budget', () => {
  it('sums every promotion and the candidate, against the budget', () => {
    const b = klBudget({ promotedKl: [2, 3, 1.5], candidateKl: 2, budget: 10 });
    assert.deepEqual(b, { cumulative: 8.5, spent: 8.5, budget: 10, remaining: 1.5, exceeded: false });
    // each step small, the chain over budget
    assert.equal(klBudget({ promotedKl: [3, 3, 3], candidateKl: 2, budget: 10 }).exceeded, true);
  });

  it('a measured KL to the base that exceeds the sum counts instead', () => {
    const b = klBudget({ promotedKl: [1, 1], candidateKl: 1, candidateKlToBase: 4.5, budget: 4 });
    assert.deepEqual([b.cumulative, b.spent, b.exceeded], [3, 4.5, true]);
  });

  it('without a budget it only accounts; bad values are named', () => {
    assert.deepEqual(klBudget({ promotedKl: [], candidateKl: 0.5 }), { cumulative: 0.5, spent: 0.5, budget: null, remaining: null, exceeded: null });
    assert.throws(() => klBudget({ promotedKl: [1, -2], candidateKl: 1 }), /promotedKl\[1\]: KL must be ≥ 0/);
    assert.throws(() => klBudget({ promotedKl: [], candidateKl: 1, budget: 0 }), /budget: must be a positive number/);
  });
});
