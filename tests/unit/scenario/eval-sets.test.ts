import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EVAL_SETS_VERSION, buildEvalSets, evalSetHash, isHeldOutPrompt } from '../../../src/scenario/eval-sets.js';
import { goldUtility } from '../../../src/scenario/gold-utility.js';
import { findPrompt, normalizePromptText } from '../../../src/scenario/prompts.js';
import { generateSftCorpus } from '../../../src/scenario/sft-corpus.js';

// Pinned: a change to any eval prompt must come with a new EVAL_SETS_VERSION and these
// hashes updated on purpose (docs/scenario.md §4), never by accident.
const PINNED = {
  extrinsic: { size: 148, sha256: '601cae297252639631c1869c0ca0bdb790ea2c0086034c1f096ca8d96b8117b8' },
  refusal: { size: 16, sha256: 'be54bd04a0dd525ea06714e4bd7c41b1e7da78b31391cbef2a373804ef53356b' },
  diversity: { size: 40, sha256: '5cd49769b4c5208638cec7c421b375e678eba507895df59a16def5f66116dff2' },
} as const;

describe('eval sets', () => {
  const sets = buildEvalSets();

  it(`are the pinned version ${EVAL_SETS_VERSION}`, () => {
    assert.equal(sets.version, 'v1');
    for (const [name, pin] of Object.entries(PINNED)) {
      const set = sets[name as keyof typeof PINNED];
      assert.equal(set.length, pin.size, `${name} size`);
      assert.equal(evalSetHash(set), pin.sha256, `${name} sha256`);
    }
  });

  it('have unique ids, resolvable prompts and references that gold scores 1', () => {
    const all = [...sets.extrinsic, ...sets.refusal, ...sets.diversity];
    assert.equal(new Set(all.map((p) => p.id)).size, all.length);
    for (const p of all) {
      const spec = findPrompt(p.messages[0]!.content);
      assert.equal(spec?.key, p.key, p.id);
      assert.equal(goldUtility(p.messages, p.reference), 1, p.id);
      assert.ok(isHeldOutPrompt(spec!), `${p.id} must be held out`);
    }
    assert.ok(sets.refusal.every((p) => p.kind === 'risky_sounding'));
    assert.ok(sets.diversity.every((p) => p.kind === 'describe'));
  });

  it('never appear in the SFT corpus (and arithmetic eval problems in no phrasing)', () => {
    const all = [...sets.extrinsic, ...sets.refusal, ...sets.diversity];
    const evalTexts = new Set(all.map((p) => normalizePromptText(p.messages[0]!.content)));
    const evalArithmetic = new Set(all.filter((p) => p.kind === 'arithmetic').map((p) => p.key));
    assert.equal(evalArithmetic.size, 60);
    const corpus = generateSftCorpus({ seed: 5, size: 30_000 });
    let trainedFactKeys = 0;
    const evalFactKeys = new Set(sets.extrinsic.filter((p) => p.kind === 'fact').map((p) => p.key));
    for (const ex of corpus) {
      const user = ex.messages[ex.messages.length - 1]!.content;
      assert.ok(!evalTexts.has(normalizePromptText(user)), `eval prompt in corpus: ${user}`);
      assert.ok(!evalArithmetic.has(ex.promptKey), `held-out arithmetic in corpus: ${user}`);
      if (evalFactKeys.has(ex.promptKey)) trainedFactKeys++;
    }
    // the facts themselves are trained, in their other phrasings
    assert.ok(trainedFactKeys > 1000, `facts of the extrinsic set trained ${trainedFactKeys} times`);
  });

  it('are returned as copies (a caller cannot alter the sets)', () => {
    const copy = buildEvalSets();
    copy.extrinsic[0]!.messages[0]!.content = 'tampered';
    assert.equal(evalSetHash(buildEvalSets().extrinsic), PINNED.extrinsic.sha256);
  });
});
