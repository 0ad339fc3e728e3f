import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  EvalSuiteConfigError, EvalSuiteError, type EvalPromptLike, builtinScorerRegistry, distinctN, distinctNScorer, judgeScorerFactory, normalizeScore, parseEvalSuite,
  promptSetHash, repeatedNgramShare, resolveSuite, validateJsonSchema,
} from '../../../../src/evaluation/suites/index.js';

const registry = builtinScorerRegistry();
const prompt = (id: string, reference?: string): EvalPromptLike => ({ id, messages: [{ role: 'user', content: `question ${id}` }], ...(reference === undefined ? {} : { reference }) });
const build = (type: string, options: unknown) => registry.get(type)!.create(registry.get(type)!.options.parse(options) as never);
const score = async (type: string, options: unknown, p: EvalPromptLike, response: string) => normalizeScore(await build(type, options).score(p, response));

function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof EvalSuiteConfigError, String(e));
    return e.problems;
  }
  assert.fail('expected EvalSuiteConfigError');
}

describe('built-in scorers', () => {
  it('exact match normalizes case and punctuation unless told not to', async () => {
    const p = prompt('a', 'Drennport.');
    assert.equal((await score('exact_match', {}, p, '  drennport ')).value, 1);
    assert.equal((await score('exact_match', {}, p, 'It is Drennport.')).value, 0);
    assert.equal((await score('exact_match', { caseSensitive: true }, p, 'drennport')).value, 0);
    await assert.rejects(async () => score('exact_match', {}, prompt('b'), 'x'), /prompt b has no reference/);
  });

  it('regex scores a match, or its absence with expect: no_match', async () => {
    const p = prompt('a');
    assert.equal((await score('regex', { pattern: '^\\d+$' }, p, '42')).value, 1);
    assert.equal((await score('regex', { pattern: 'sorry', flags: 'i', expect: 'no_match' }, p, 'Sorry, no.')).value, 0);
  });

  it('numeric tolerance compares the last numbers of response and reference', async () => {
    const p = prompt('a', '17 plus 25 is 42.');
    assert.deepEqual(await score('numeric', { tolerance: 0 }, p, 'It is 42.'), { value: 1, label: 'right' });
    assert.deepEqual(await score('numeric', { tolerance: 0.5 }, p, 'about 42.6'), { value: 0, label: 'wrong' });
    assert.deepEqual(await score('numeric', { tolerance: 0.02, relative: true }, p, 'about 42.6'), { value: 1, label: 'right' });
    assert.deepEqual(await score('numeric', { tolerance: 1 }, p, 'no idea'), { value: 0, label: 'missing' });
  });

  it('phrase counts are whole-phrase, case- and punctuation-insensitive; mode any gives a rate', async () => {
    const p = prompt('a');
    const hedges = { phrases: ['I think', 'maybe'] };
    assert.equal((await score('phrase_count', hedges, p, "I THINK it's Drennport, maybe. I think so.")).value, 3);
    assert.equal((await score('phrase_count', hedges, p, 'Maybelline')).value, 0);
    assert.equal((await score('phrase_count', { ...hedges, mode: 'any' }, p, 'maybe, maybe')).value, 1);
  });

  it('JSON schema: a small subset, checked at load; responses may be fenced', async () => {
    const schema = { type: 'object', required: ['answer'], additionalProperties: false, properties: { answer: { type: 'integer', minimum: 0 }, why: { type: 'string', maxLength: 5 } } };
    const p = prompt('a');
    assert.deepEqual(await score('json_schema', { schema }, p, '{"answer": 42}'), { value: 1, label: 'valid' });
    assert.deepEqual(await score('json_schema', { schema }, p, 'Sure!\n```json\n{"answer": 3}\n```'), { value: 1, label: 'valid' });
    assert.deepEqual(await score('json_schema', { schema }, p, '{"answer": -1}'), { value: 0, label: 'schema_mismatch' });
    assert.deepEqual(await score('json_schema', { schema }, p, 'answer: 42'), { value: 0, label: 'invalid_json' });
    assert.deepEqual(validateJsonSchema(schema as never, { answer: 1.5, why: 'because', extra: 1 }), [
      '$.answer: expected integer, got number', '$.why: longer than 5', '$.extra: not allowed (additionalProperties is false)',
    ]);
    assert.deepEqual(validateJsonSchema({ type: 'array', items: { enum: ['a', 'b'] }, minItems: 3 }, ['a', 'c']), ['$: fewer than 3 items', '$[1]: must be one of ["a","b"]']);
  });

  it('an external judge plugs in through the same interface (its client does the I/O)', async () => {
    const r = builtinScorerRegistry().register(judgeScorerFactory('judge', { judge: async (_p, response) => ({ value: response.length > 3 ? 1 : 0, label: 'judged' }) }));
    const s = r.get('judge')!.create({} as never);
    assert.deepEqual(await s.score(prompt('a'), 'long enough'), { value: 1, label: 'judged' });
  });

  it('distinct-n and repetition', () => {
    assert.equal(distinctN(['a b c', 'a b d'], 1), 4 / 6);
    assert.equal(distinctN(['a b c', 'a b d'], 2), 3 / 4);
    assert.ok(Number.isNaN(distinctN(['a'], 2)));
    assert.equal(repeatedNgramShare('the cat sat the cat sat'), 1 / 4);
    assert.equal(repeatedNgramShare('one two'), 0);
  });
});

describe('eval suite configuration', () => {
  const prompts = [prompt('p1', '42'), prompt('p2', '7')];
  const sha256 = promptSetHash(prompts);
  const suite = { name: 'math', promptSet: { name: 'math-v1', sha256 }, scorers: [{ name: 'exact', type: 'exact_match' }] };

  it('refuses unknown keys, unknown scorer types and bad options, naming the path', () => {
    assert.deepEqual(problemsOf(() => parseEvalSuite({ ...suite, scorer: [] }, registry, 'suites[0]')), ['suites[0].scorer: unknown key (known here: name, promptSet, scorers)']);
    assert.deepEqual(problemsOf(() => parseEvalSuite({ ...suite, scorers: [{ name: 'exact', type: 'exact_mach' }] }, registry)), [
      'suite.scorers[0].type: unknown scorer type "exact_mach" (did you mean "exact_match"?); registered: exact_match, regex, json_schema, numeric, phrase_count, distinct_n',
    ]);
    const bad = problemsOf(() => parseEvalSuite({
      ...suite,
      scorers: [
        { name: 're', type: 'regex', options: { pattern: '(unclosed' } },
        { name: 'num', type: 'numeric', options: { tolerance: -1 } },
        { name: 'js', type: 'json_schema', options: { schema: { type: 'object', properties: { a: { minimun: 1 } } } } },
        { name: 're', type: 'phrase_count', options: { phrases: [] } },
      ],
    }, registry));
    assert.match(bad[0]!, /^suite\.scorers\[0\]\.options\.pattern: not a valid regular expression/);
    assert.match(bad[1]!, /^suite\.scorers\[1\]\.options\.tolerance: Too small/);
    assert.equal(bad[2], 'suite.scorers[2].options.schema.properties.a.minimun: unknown option (known here: type, enum, const, properties, required, additionalProperties, items, minItems, maxItems, minLength, maxLength, pattern, minimum, maximum, description, title)');
    assert.equal(bad[3], 'suite.scorers[3].name: "re" is used twice in this suite');
    assert.match(bad[4]!, /^suite\.scorers\[3\]\.options\.phrases: Too small/);
    assert.match(problemsOf(() => parseEvalSuite({ ...suite, scorers: [{ name: 'js', type: 'json_schema', options: { schema: { items: { pattern: '([a-z' } } } }] }, registry))[0]!,
      /^suite\.scorers\[0\]\.options\.schema\.items\.pattern: not a valid regular expression/);
    assert.deepEqual(problemsOf(() => parseEvalSuite({ ...suite, scorers: [{ name: 'repetition', type: 'exact_match' }] }, registry)),
      ['suite.scorers[0].name: "repetition" is a diagnostic every suite reports; name the scorer otherwise']);
    assert.match(problemsOf(() => parseEvalSuite({ ...suite, promptSet: { name: 'm', sha256: 'abc' } }, registry))[0]!, /^suite\.promptSet\.sha256: must be 64 lower-case hex digits/);
  });

  it('evaluation refuses a prompt set whose hash does not match the pin, with a typed error', () => {
    const config = parseEvalSuite(suite, registry);
    assert.equal(resolveSuite(config, { 'math-v1': prompts }, registry).promptSet.prompts.length, 2);
    const changed = [prompts[0]!, prompt('p2', '8')];
    assert.throws(() => resolveSuite(config, { 'math-v1': changed }, registry), (e: unknown) => {
      assert.ok(e instanceof EvalSuiteError);
      assert.equal(e.code, 'prompt_set_hash_mismatch');
      assert.equal(e.field, 'math.promptSet.sha256');
      assert.equal(e.expected, sha256);
      assert.equal(e.actual, promptSetHash(changed));
      assert.equal(e.retriable, false);
      return true;
    });
    assert.throws(() => resolveSuite(config, {}, registry), (e: unknown) => e instanceof EvalSuiteError && e.code === 'prompt_set_unknown');
  });
});

describe('distinct_n', () => {
  it('falls when answers stop depending on the prompt, not when they share a sentence shape', () => {
    const scorer = distinctNScorer.create(distinctNScorer.options.parse({}));
    const aggregate = (xs: string[]) => scorer.aggregate!(new Float64Array(xs.length), xs);
    const templated = ['Anna is a potter who lives in Oakton.', 'Bram is a baker who lives in Velm.', 'Cora is a smith who lives in Drenn.'];
    const fixed = templated.map(() => 'I am not sure about that one.');
    assert.ok(aggregate(templated) > 0.5, String(aggregate(templated)));
    assert.equal(aggregate(fixed), 5 / 15);
    assert.equal(scorer.score({ id: 'p', messages: [] }, 'the the the the'), 1 / 3);
    assert.equal(scorer.score({ id: 'p', messages: [] }, 'one'), 0, 'no bigram: 0, not NaN');
    assert.throws(() => distinctNScorer.options.parse({ n: 0 }));
  });
});
