// The hidden prompt set the gate bench labels candidates with: pinned, and disjoint from
// every eval set (by text and, for arithmetic, by problem) — a gate that saw these
// prompts could be tuned on its own test.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildEvalSets } from '../../../src/scenario/eval-sets.js';
import { HIDDEN_SET_SHA256, buildHiddenPromptSet, hiddenSetHash, isHiddenPrompt } from '../../../src/scenario/hidden-set.js';
import { normalizePromptText } from '../../../src/scenario/prompts.js';

describe('the hidden prompt set', () => {
  const hidden = buildHiddenPromptSet();

  it('is pinned by its sha256', () => {
    assert.equal(hiddenSetHash(hidden), HIDDEN_SET_SHA256);
    assert.equal(hidden.length, 204);
    assert.equal(new Set(hidden.map((p) => p.id)).size, hidden.length);
  });

  it('shares no prompt text and no arithmetic problem with the eval sets', () => {
    const sets = buildEvalSets();
    const evalPrompts = [...sets.extrinsic, ...sets.refusal, ...sets.diversity];
    const evalTexts = new Set(evalPrompts.map((p) => normalizePromptText(p.messages[0]!.content)));
    for (const p of hidden) assert.ok(!evalTexts.has(normalizePromptText(p.messages[0]!.content)), `${p.id} is an eval prompt`);
    const evalArithmetic = new Set(evalPrompts.filter((p) => p.kind === 'arithmetic').map((p) => p.key));
    for (const p of hidden.filter((x) => x.kind === 'arithmetic')) assert.ok(!evalArithmetic.has(p.key), `${p.key} is an eval problem`);
    for (const p of evalPrompts) assert.equal(isHiddenPrompt(p.messages[0]!.content), false, p.id);
  });

  it('covers every closed prompt key once, in a phrasing the eval sets do not use', () => {
    const closedKinds = hidden.filter((p) => p.kind !== 'arithmetic');
    assert.equal(new Set(closedKinds.map((p) => p.key)).size, closedKinds.length);
    assert.deepEqual([...new Set(hidden.map((p) => p.kind))].sort(), ['arithmetic', 'describe', 'fact', 'risky_sounding']);
    assert.ok(isHiddenPrompt(hidden[0]!.messages[0]!.content));
  });
});
