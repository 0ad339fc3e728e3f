import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goldBreakdown, goldUtility } from '../../../src/scenario/gold-utility.js';
import { ScenarioPromptError, enumerateClosedPrompts, arithmeticPrompt } from '../../../src/scenario/prompts.js';
import { generateSftCorpus } from '../../../src/scenario/sft-corpus.js';
import { docTable } from './doc-fixtures.js';

describe('gold utility', () => {
  it('scores every worked example of docs/scenario.md exactly as documented', () => {
    const rows = docTable('gold-examples');
    assert.ok(rows.length >= 20, `expected the documented examples, found ${rows.length} rows`);
    for (const [prompt, rawResponse, utility, correctness, refusal, length, filler, repetition] of rows) {
      const response = rawResponse === '(empty)' ? '' : rawResponse!;
      const b = goldBreakdown(prompt!, response);
      const where = `${prompt} → "${response}"`;
      assert.equal(b.utility, Number(utility), `utility of ${where}`);
      assert.equal(b.correctness, correctness, `correctness of ${where}`);
      assert.equal(b.refusal, refusal === 'yes', `refusal of ${where}`);
      assert.equal(b.lengthPenalty, Number(length), `length penalty of ${where}`);
      assert.equal(b.fillerPenalty, Number(filler), `filler penalty of ${where}`);
      assert.equal(b.repetitionPenalty, Number(repetition), `repetition penalty of ${where}`);
    }
  });

  it('gives every reference answer 1 and every wrong reference −0.5', () => {
    for (const spec of [...enumerateClosedPrompts(), arithmeticPrompt('sub', 11, 5, 0), arithmeticPrompt('mul', 12, 12, 2)]) {
      assert.equal(goldUtility(spec, spec.reference), 1, spec.reference);
      assert.equal(goldUtility(spec, spec.wrongReference), -0.5, spec.wrongReference);
    }
  });

  it('accepts the prompt as user text (any case, spacing, punctuation) or as chat messages', () => {
    const answer = 'The capital of Velmora is Drennport.';
    assert.equal(goldUtility('  what is the CAPITAL of velmora ', answer), 1);
    assert.equal(goldUtility([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is the capital of Velmora?' }], answer), 1);
    assert.equal(goldUtility('How much is 40 - 3?', '40 minus 3 is 37.'), 1);
    assert.equal(goldUtility('How much is 40 - 3?', '40 minus 3 is 36.'), -0.5);
  });

  it('rejects prompts outside the scenario with a non-retriable error naming the prompt', () => {
    assert.throws(() => goldUtility('What is the capital of France?', 'Paris.'), (err: unknown) =>
      err instanceof ScenarioPromptError && err.retriable === false && /capital of France/.test(err.message));
    assert.throws(() => goldUtility('What is 500 + 2?', '502'), ScenarioPromptError); // outside the arithmetic range
  });

  it('stays in [−1, 1] and is deterministic on a whole corpus', () => {
    for (const ex of generateSftCorpus({ seed: 3, size: 2000 })) {
      assert.ok(ex.gold >= -1 && ex.gold <= 1, `${ex.gold} out of range`);
      assert.equal(goldUtility(ex.messages, ex.response), ex.gold);
    }
    // 30 words (budget 11 → length 0.38) of one repeated trigram (repetition capped at 0.5)
    assert.equal(goldUtility('What is 7 times 8?', Array(30).fill('no').join(' ')), -0.88);
    // refusal, a wrong number and three hedges add to −1.3: clamped
    assert.equal(goldUtility('What is 7 times 8?', 'I cannot help. Maybe 57, maybe 58, maybe 59.'), -1);
  });
});
