// The RL prompt set the loop trains on: the completion log's prompts before a time,
// deduplicated, with every eval-suite prompt excluded, stored under its content hash
// where the trainer loads it — and refused when too few prompts remain.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ResolvedSuite } from '../../../src/evaluation/suites/suite.js';
import { LocalArtifactStore } from '../../../src/platform/artifacts/local-artifact-store.js';
import { freezePromptSet } from '../../../src/rlhf/prompts/prompt-set.js';
import { scenarioSuites } from '../../../src/scenario/eval-suites.js';
import { evalPromptTexts, freezeRlPromptSet, RlPromptSetTooSmallError } from '../../../src/services/rl-prompt-set.js';
import { loadPromptSet } from '../../../src/services/trainer/optimisation-inputs.js';

const dir = mkdtempSync(join(tmpdir(), 'outerloop-rl-prompts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A completion log: prompts with their creation times; the read honours `before` like the repository. */
function log(rows: Array<[prompt: string, at: string]>) {
  const reads: Date[] = [];
  return {
    reads,
    completions: {
      async *userPromptsBefore(before: Date) {
        reads.push(before);
        for (const [p, at] of rows) if (new Date(at) < before) yield p;
      },
    },
  };
}

const suite = (name: string, prompts: Array<{ id: string; messages: Array<{ role: string; content: string }> }>) =>
  ({ name, promptSet: { name, sha256: 'x', prompts }, scorers: [] }) as unknown as ResolvedSuite;

const SUITES = [
  suite('a', [{ id: 'a1', messages: [{ role: 'user', content: 'What is 2 plus 2?' }] }]),
  suite('b', [{ id: 'b1', messages: [{ role: 'user', content: 'first turn' }, { role: 'assistant', content: 'ok' }, { role: 'user', content: 'Name a  colour.' }] }]),
];
const T = '2026-11-28T00:00:00.000Z';

describe('freezeRlPromptSet', () => {
  it('dedups after canonicalising, excludes every eval-suite prompt (exact canonical match), counts what it dropped and stores the set where the trainer loads it', async () => {
    const artifacts = new LocalArtifactStore(join(dir, 'a'));
    const { completions, reads } = log([
      ['How do I sort a list?', '2026-11-27T01:00:00Z'],
      ['  How do I   sort a list?', '2026-11-27T02:00:00Z'],
      ['What is 2 plus 2?', '2026-11-27T03:00:00Z'], // eval suite a
      ['Name a colour.', '2026-11-27T03:30:00Z'], // eval suite b's last user turn, spaced differently there
      ['What is 2 plus 2? Show your work.', '2026-11-27T04:00:00Z'], // not an exact match: kept
      ['   ', '2026-11-27T05:00:00Z'],
      ['after the cut', '2026-11-28T00:00:00Z'],
    ]);
    const set = await freezeRlPromptSet({ completions, artifacts }, { to: T, evalSuites: SUITES, minPrompts: 2 });
    assert.deepEqual(reads.map((d) => d.toISOString()), [T]);
    assert.deepEqual(set.prompts, ['How do I sort a list?', 'What is 2 plus 2? Show your work.']);
    assert.deepEqual({ seen: set.seen, duplicates: set.duplicates, excluded: set.excluded, empty: set.empty }, { seen: 6, duplicates: 1, excluded: 2, empty: 1 });
    // the same id freezePromptSet gives the same prompts: content-addressed, nothing else in it
    assert.equal(set.id, freezePromptSet(set.prompts).id);
    assert.deepEqual(await loadPromptSet(artifacts, set.id), set.prompts);
  });

  it('freezing the same log twice gives the same id and one stored file; a different log, another id', async () => {
    const artifacts = new LocalArtifactStore(join(dir, 'b'));
    const rows: Array<[string, string]> = [['b', '2026-11-27T01:00:00Z'], ['a', '2026-11-27T02:00:00Z'], ['c', '2026-11-27T03:00:00Z']];
    const first = await freezeRlPromptSet({ ...log(rows), artifacts }, { to: T, evalSuites: SUITES, minPrompts: 1 });
    const second = await freezeRlPromptSet({ ...log([...rows].reverse()), artifacts }, { to: T, evalSuites: SUITES, minPrompts: 1 });
    assert.equal(second.id, first.id, 'order of the log does not matter');
    assert.deepEqual(readdirSync(join(dir, 'b', 'prompt-sets')), [`${first.id}.json`]);
    const other = await freezeRlPromptSet({ ...log(rows), artifacts }, { to: '2026-11-27T02:30:00Z', evalSuites: SUITES, minPrompts: 1 });
    assert.notEqual(other.id, first.id);
    assert.deepEqual(other.prompts, ['a', 'b']);
  });

  it('refuses a set smaller than the minimum, naming the count, and stores nothing', async () => {
    const artifacts = new LocalArtifactStore(join(dir, 'c'));
    const rows: Array<[string, string]> = [['only one', '2026-11-27T01:00:00Z'], ['What is 2 plus 2?', '2026-11-27T02:00:00Z']];
    await assert.rejects(
      freezeRlPromptSet({ ...log(rows), artifacts }, { to: T, evalSuites: SUITES, minPrompts: 2 }),
      (e: unknown) => e instanceof RlPromptSetTooSmallError && e.code === 'rl_prompt_set_too_small' && e.count === 1 && e.minimum === 2 && /1 distinct non-eval prompt\(s\).*at least 2 required/.test(e.message),
    );
    assert.equal(await artifacts.exists('prompt-sets'), false);
    await assert.rejects(freezeRlPromptSet({ ...log([]), artifacts }, { to: T, evalSuites: SUITES, minPrompts: 1 }), RlPromptSetTooSmallError);
  });

  it('refuses a bad time or minimum, naming the field', async () => {
    const artifacts = new LocalArtifactStore(join(dir, 'd'));
    await assert.rejects(freezeRlPromptSet({ ...log([]), artifacts }, { to: 'yesterday', evalSuites: SUITES, minPrompts: 0 }), /^RangeError: to: expected an ISO 8601 time, got "yesterday"/);
    await assert.rejects(freezeRlPromptSet({ ...log([]), artifacts }, { to: T, evalSuites: SUITES, minPrompts: -1 }), /minPrompts: expected a non-negative integer/);
  });

  it('the evaluator\'s default suites: every scenario eval prompt is excluded', async () => {
    const suites = scenarioSuites();
    const texts = evalPromptTexts(suites);
    assert.ok(texts.size > 0);
    const evalPrompts = [...texts].map((t): [string, string] => [t, '2026-11-27T01:00:00Z']);
    const artifacts = new LocalArtifactStore(join(dir, 'e'));
    const set = await freezeRlPromptSet({ ...log([...evalPrompts, ['a user question', '2026-11-27T02:00:00Z']]), artifacts }, { to: T, evalSuites: suites, minPrompts: 1 });
    assert.deepEqual(set.prompts, ['a user question']);
    assert.equal(set.excluded, texts.size);
  });
});
