import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binomialUpperTail } from '../../../../src/domain/dataset/binomial.js';
import type { CompletionRow, FeedbackRow } from '../../../../src/domain/dataset/dataset.types.js';
import { applySpamDefence } from '../../../../src/domain/dataset/spam-defence.js';
import { byId, completion, feedback, T0 } from './fixtures.js';
import { mulberry32 } from '../../../support/mulberry32.js';


/** 40 prompts with a good and a bad answer; honest users thumb correctly with 10%
 *  noise, the spammer always votes the opposite way. */
function crowd(): { completions: Map<string, CompletionRow>; events: FeedbackRow[] } {
  const cs: CompletionRow[] = [];
  const events: FeedbackRow[] = [];
  const rand = mulberry32(7);
  for (let i = 0; i < 40; i++) {
    cs.push(completion(`g${i}`, `prompt ${i}`, `good answer ${i}`), completion(`b${i}`, `prompt ${i}`, `bad answer ${i}`));
    for (const user of ['h1', 'h2', 'h3', 'h4', 'h5']) {
      const flip = rand() < 0.1 ? -1 : 1;
      events.push(feedback('thumbs', `g${i}`, flip, { userId: user }), feedback('thumbs', `b${i}`, -flip, { userId: user }));
    }
    events.push(feedback('thumbs', `g${i}`, -1, { userId: 'spammer' }), feedback('thumbs', `b${i}`, 1, { userId: 'spammer' }));
  }
  return { completions: byId(cs), events };
}

describe('binomialUpperTail', () => {
  it('matches exact values', () => {
    assert.ok(Math.abs(binomialUpperTail(8, 10, 0.5) - 56 / 1024) < 1e-12);
    assert.equal(binomialUpperTail(0, 10, 0.3), 1);
    assert.equal(binomialUpperTail(11, 10, 0.3), 0);
    assert.ok(Math.abs(binomialUpperTail(10, 10, 0.3) - 0.3 ** 10) < 1e-15);
    // below the mean (complement path): P(X ≥ 1 | 3, 0.5) = 7/8
    assert.ok(Math.abs(binomialUpperTail(1, 3, 0.5) - 7 / 8) < 1e-12);
    // large n stays finite and in range
    const p = binomialUpperTail(5200, 10000, 0.5);
    assert.ok(p > 0 && p < 1e-4, `P(X ≥ 5200 | 10000, .5) ≈ 3.2e-5, got ${p}`);
  });
});

describe('spam defence', () => {
  it('flags a labeller who disagrees with the majority far beyond chance, and only them', () => {
    const { completions, events } = crowd();
    const r = applySpamDefence(events, completions);
    const flagged = r.labellers.filter((l) => l.flagged).map((l) => l.labeller);
    assert.deepEqual(flagged, ['user:spammer']);
    const spammer = r.labellers.find((l) => l.labeller === 'user:spammer')!;
    assert.equal(spammer.comparisons, 80);
    assert.ok(spammer.disagreements >= 78, `spammer disagreed ${spammer.disagreements}/80`);
    assert.ok(r.baselineDisagreement > 0.05 && r.baselineDisagreement < 0.35, `baseline ${r.baselineDisagreement}`);
    assert.equal(r.flaggedEventIds.length, 80);
    assert.ok(r.accepted.every((e) => e.userId !== 'spammer'));
    assert.equal(r.accepted.length, events.length - 80);
  });

  it('flags a contrarian in pairwise choices too (either completion of the pair may carry the event)', () => {
    const cs: CompletionRow[] = [];
    const events: FeedbackRow[] = [];
    for (let i = 0; i < 30; i++) {
      cs.push(completion(`g${i}`, `q ${i}`, `good ${i}`), completion(`b${i}`, `q ${i}`, `bad ${i}`));
      for (const user of ['h1', 'h2', 'h3']) {
        // honest users report the same choice from either side of the comparison
        events.push(i % 2 ? feedback('pairwise', `g${i}`, 1, { userId: user, otherCompletionId: `b${i}` }) : feedback('pairwise', `b${i}`, -1, { userId: user, otherCompletionId: `g${i}` }));
      }
      events.push(feedback('pairwise', `g${i}`, -1, { userId: 'contrarian', otherCompletionId: `b${i}` }));
      events.push(feedback('pairwise', `g${i}`, 0, { userId: 'h4', otherCompletionId: `b${i}` })); // ties carry no vote
    }
    const r = applySpamDefence(events, byId(cs));
    assert.deepEqual(r.labellers.filter((l) => l.flagged).map((l) => l.labeller), ['user:contrarian']);
    assert.equal(r.labellers.find((l) => l.labeller === 'user:h1')?.disagreements, 0);
    assert.equal(r.labellers.find((l) => l.labeller === 'user:h4'), undefined);
  });

  it('does not flag a noisy but honest labeller with few labels', () => {
    const { completions, events } = crowd();
    // a newcomer who got 2 of 3 wrong: too little evidence
    const extra = [0, 1, 2].map((i) => feedback('thumbs', `g${i}`, i === 0 ? 1 : -1, { userId: 'newbie' }));
    const r = applySpamDefence([...events, ...extra], completions);
    assert.equal(r.labellers.find((l) => l.labeller === 'user:newbie')?.flagged, false);
  });

  it('caps the events a labeller contributes per UTC day, keeping the earliest', () => {
    const cs = byId([completion('c1', 'p', 'r')]);
    const day1 = Array.from({ length: 5 }, (_, i) => feedback('thumbs', 'c1', 1, { userId: 'busy', createdAt: new Date(T0 + i * 60_000) }));
    const day2 = [feedback('thumbs', 'c1', 1, { userId: 'busy', createdAt: new Date(T0 + 86_400_000) })];
    const anon = Array.from({ length: 5 }, () => feedback('thumbs', 'c1', 1, { userId: null, apiKeyId: null }));
    const r = applySpamDefence([...day2, ...day1].reverse().concat(anon), cs, { maxEventsPerLabellerPerDay: 3 });
    assert.deepEqual(r.cappedEventIds.sort(), [day1[3]!.id, day1[4]!.id].sort());
    assert.equal(r.accepted.length, 3 + 1 + 5, 'three from day 1, one from day 2, anonymous events uncapped');
  });

  it('excludes previously flagged labellers up front, without letting them sway majorities', () => {
    const { completions, events } = crowd();
    const r = applySpamDefence(events, completions, { flaggedLabellers: new Set(['user:spammer']) });
    assert.equal(r.flaggedEventIds.length, 80);
    assert.equal(r.labellers.find((l) => l.labeller === 'user:spammer'), undefined);
  });
});
