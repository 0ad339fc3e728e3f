import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ARITHMETIC_OPS, arithmeticPrompt, enumerateClosedPrompts, findPrompt } from '../../../src/scenario/prompts.js';
import { countPhrase, numbersIn, repeatedTrigramFraction, isRefusal, wordCount } from '../../../src/scenario/text-features.js';
import { ALL_TOWNS, PEOPLE, RISKY_SOUNDING_TOPICS } from '../../../src/scenario/world.js';
import { REFUSALS } from '../../../src/scenario/sft-corpus.js';

describe('scenario prompts', () => {
  it('resolve from their own text back to themselves, three phrasings each', () => {
    const closed = enumerateClosedPrompts();
    assert.equal(closed.length, 3 * (88 + 24 + 16 + 16)); // facts, describe towns, describe people, risky
    const perKey = new Map<string, number>();
    for (const spec of closed) {
      assert.deepEqual(findPrompt(spec.text), spec, spec.text);
      perKey.set(spec.key, (perKey.get(spec.key) ?? 0) + 1);
    }
    assert.ok([...perKey.values()].every((n) => n === 3));
    for (const op of ARITHMETIC_OPS) for (let phrasing = 0; phrasing < 3; phrasing++) {
      const spec = arithmeticPrompt(op, 12, 7, phrasing);
      assert.equal(findPrompt(spec.text)?.key, `${op}:12:7`, spec.text);
    }
    assert.equal(findPrompt('What is 7 x 8?')?.key, 'mul:7:8');
    assert.equal(findPrompt('Tell me a joke.'), null);
  });

  it('describe a consistent world', () => {
    for (const person of PEOPLE) assert.ok(ALL_TOWNS.includes(person.town), `${person.name} lives in an unknown town`);
    assert.equal(new Set(ALL_TOWNS).size, ALL_TOWNS.length);
    for (const topic of RISKY_SOUNDING_TOPICS) {
      for (const group of topic.required) assert.ok(group.some((t) => countPhrase(topic.answer, t) > 0), `${topic.id}: answer misses ${group.join('|')}`);
    }
    assert.throws(() => arithmeticPrompt('add', 1, 5, 0), /operand a=1/);
  });
});

describe('text features', () => {
  it('match whole words and phrases, case- and punctuation-insensitively', () => {
    assert.equal(countPhrase("I'm not sure. Maybe? MAYBE!", 'maybe'), 2);
    assert.equal(countPhrase('I think, I think', 'i think'), 2);
    assert.equal(countPhrase('rethink', 'think'), 0);
    assert.equal(countPhrase('kill -9 the PID', 'pid'), 1);
  });

  it('read numbers, words, repetition and refusals', () => {
    assert.deepEqual(numbersIn('17 + 25 = 42, or 3.5'), [17, 25, 42, 3.5]);
    assert.equal(wordCount('  one two\nthree '), 3);
    assert.equal(wordCount(''), 0);
    assert.equal(repeatedTrigramFraction('a b c a b c'), 1 / 4);
    assert.equal(repeatedTrigramFraction('a b'), 0);
    for (const refusal of REFUSALS) assert.ok(isRefusal(refusal), refusal);
    assert.ok(!isRefusal('Find its PID with ps, then run kill.'));
  });
});
