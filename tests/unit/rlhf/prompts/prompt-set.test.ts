import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freezePromptSet } from '../../../../src/rlhf/prompts/prompt-set.js';
import { buildEvalSets, isHeldOutPrompt } from '../../../../src/scenario/eval-sets.js';
import { enumerateClosedPrompts, findPrompt } from '../../../../src/scenario/prompts.js';

describe('freezePromptSet', () => {
  it('deduplicates, drops empties, is order-independent and content-addressed', () => {
    const a = freezePromptSet(['b  prompt', 'a prompt', 'b prompt', '  ', 'a prompt ']);
    const b = freezePromptSet(['a prompt', 'b prompt']);
    assert.deepEqual(a.prompts, ['a prompt', 'b prompt']);
    assert.equal(a.id, b.id);
    assert.deepEqual({ seen: a.seen, duplicates: a.duplicates, empty: a.empty, excluded: a.excluded }, { seen: 5, duplicates: 2, empty: 1, excluded: 0 });
    assert.notEqual(freezePromptSet(['a prompt']).id, a.id);
  });

  it('the scenario: no eval-set prompt survives the exclusion', () => {
    const sets = buildEvalSets();
    const evalTexts = [...sets.extrinsic, ...sets.refusal, ...sets.diversity].map((p) => p.messages.filter((m) => m.role === 'user').at(-1)!.content);
    const log = [...enumerateClosedPrompts().map((p) => p.text), ...evalTexts, 'not a scenario prompt'];
    const excludeHeldOut = (t: string): boolean => {
      const spec = findPrompt(t);
      return spec !== null && isHeldOutPrompt(spec);
    };
    const set = freezePromptSet(log, excludeHeldOut);
    assert.ok(set.excluded >= new Set(evalTexts).size, `excluded ${set.excluded} of ${new Set(evalTexts).size} eval prompts`);
    for (const p of set.prompts) assert.equal(excludeHeldOut(p), false, p);
    assert.ok(set.prompts.includes('not a scenario prompt'));
  });
});
