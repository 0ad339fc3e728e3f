// The completion log's user prompts (ICompletionRepository.userPromptsBefore), the RL
// prompt set's source: run against SQLite by the unit suite (sqlite.test.ts) and against
// real PostgreSQL by tests/integration/persistence/completion-prompts.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import { runMigrations } from '../../../../src/platform/persistence/data-source.js';
import { createRepositories } from '../../../../src/platform/persistence/repositories/index.js';
import { sampleCompletion } from './persistence.contract.js';

const at = (s: string) => new Date(`2026-11-27T05:00:${s}Z`);

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const p of it) out.push(p);
  return out;
}

export function completionPromptsContract(label: string, open: () => Promise<DataSource>, close: (ds: DataSource) => Promise<void>): void {
  describe(`${label} completion log: user prompts before a time`, () => {
    let ds: DataSource;
    before(async () => {
      ds = await open();
      await runMigrations(ds);
      const user = (content: string) => [{ role: 'user' as const, content }];
      await createRepositories(ds).completions.insertIgnoringDuplicates([
        // three rows in the same millisecond: the keyset cursor must page through ties by id
        sampleCompletion('c-3', { messages: user('third'), createdAt: at('02.000') }),
        sampleCompletion('c-1', { messages: user('first'), createdAt: at('01.000') }),
        sampleCompletion('c-2a', { messages: user('tie a'), createdAt: at('01.500') }),
        sampleCompletion('c-2c', { messages: user('tie c'), createdAt: at('01.500') }),
        sampleCompletion('c-2b', { messages: user('tie b'), createdAt: at('01.500') }),
        // multi-turn: the prompt is the last user message
        sampleCompletion('c-4', { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'earlier' }, { role: 'assistant', content: 'ok' }, { role: 'user', content: 'last turn' }], createdAt: at('03.000') }),
        // no user message: nothing to train on
        sampleCompletion('c-5', { messages: [{ role: 'system', content: 'only system' }], createdAt: at('03.500') }),
        // a shadow answer repeats a prompt already logged
        sampleCompletion('c-6', { messages: user('shadow copy'), shadow: true, createdAt: at('03.600') }),
        // at the cut-off and after it: not before `before`
        sampleCompletion('c-7', { messages: user('at the cut'), createdAt: at('04.000') }),
        sampleCompletion('c-8', { messages: user('later'), createdAt: at('09.000') }),
      ]);
    });
    after(async () => {
      if (ds) await close(ds);
    });

    it(`${label} yields the last user message of each non-shadow completion before the time, oldest first, ties by id`, async () => {
      const { completions } = createRepositories(ds);
      const expected = ['first', 'tie a', 'tie b', 'tie c', 'third', 'last turn'];
      assert.deepEqual(await collect(completions.userPromptsBefore(at('04.000'))), expected);
      // page sizes that split the tie, and one row per page: the same sequence
      for (const pageSize of [1, 2, 3, 100]) assert.deepEqual(await collect(completions.userPromptsBefore(at('04.000'), pageSize)), expected, `pageSize ${pageSize}`);
      assert.deepEqual(await collect(completions.userPromptsBefore(at('01.000'))), [], 'strictly before');
      assert.deepEqual((await collect(completions.userPromptsBefore(at('10.000')))).slice(-2), ['at the cut', 'later']);
    });

    it(`${label} refuses a page size that is not a positive integer`, async () => {
      const { completions } = createRepositories(ds);
      await assert.rejects(collect(completions.userPromptsBefore(at('04.000'), 0)), /pageSize: expected a positive integer, got 0/);
    });
  });
}
