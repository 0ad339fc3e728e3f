import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderChatExample } from '../../../src/engine/chat-template.js';
import { findPrompt } from '../../../src/scenario/prompts.js';
import { docTable } from './doc-fixtures.js';
import {
  KIND_MIX, RESPONSE_STYLES, STYLE_MIX, corpusPlainText, generateSftCorpus, renderSftExample,
} from '../../../src/scenario/sft-corpus.js';

/** Pearson's chi-square statistic of observed counts against expected shares. */
function chiSquare(observed: Record<string, number>, shares: Record<string, number>, n: number): number {
  return Object.entries(shares).reduce((sum, [key, p]) => sum + ((observed[key] ?? 0) - n * p) ** 2 / (n * p), 0);
}
// upper 0.1% points of the chi-square distribution: a correct generator fails 1 run in 1000
const CHI2_999 = { 3: 16.27, 4: 18.47 } as const;

describe('SFT corpus', () => {
  const N = 20_000;
  const corpus = generateSftCorpus({ seed: 11, size: N });

  it('uses the proportions docs/scenario.md documents', () => {
    const share = (rows: string[][]) => Object.fromEntries(rows.map(([name, pct]) => [name!.replace(/`/g, ''), Number(pct!.replace('%', '')) / 100]));
    assert.deepEqual(share(docTable('style-mix')), STYLE_MIX);
    assert.deepEqual(share(docTable('kind-mix')), KIND_MIX);
  });

  it('mixes response styles in the documented proportions (chi-square, p > 0.001)', () => {
    const counts: Record<string, number> = {};
    for (const ex of corpus) counts[ex.style] = (counts[ex.style] ?? 0) + 1;
    assert.deepEqual(Object.keys(STYLE_MIX).sort(), [...RESPONSE_STYLES].sort());
    const stat = chiSquare(counts, STYLE_MIX, N);
    assert.ok(stat < CHI2_999[4], `style mix chi-square ${stat.toFixed(2)} ≥ ${CHI2_999[4]}: ${JSON.stringify(counts)}`);
  });

  it('draws prompt kinds in the documented proportions, refusals only on risky-sounding requests', () => {
    const counts: Record<string, number> = {};
    let nonRefusal = 0;
    for (const ex of corpus) {
      if (ex.style === 'refusal') {
        assert.equal(ex.kind, 'risky_sounding', `refusal of a ${ex.kind} prompt`);
        continue;
      }
      nonRefusal++;
      counts[ex.kind] = (counts[ex.kind] ?? 0) + 1;
    }
    const stat = chiSquare(counts, KIND_MIX, nonRefusal);
    assert.ok(stat < CHI2_999[3], `kind mix chi-square ${stat.toFixed(2)}: ${JSON.stringify(counts)}`);
  });

  it('spreads in gold utility by style as documented', () => {
    const byStyle = new Map<string, number[]>();
    for (const ex of corpus) byStyle.set(ex.style, [...(byStyle.get(ex.style) ?? []), ex.gold]);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.equal(mean(byStyle.get('correct_concise')!), 1);
    assert.equal(mean(byStyle.get('refusal')!), -0.5);
    assert.ok(Math.abs(mean(byStyle.get('wrong')!) + 0.5) < 0.01);
    const verbose = mean(byStyle.get('correct_verbose')!);
    assert.ok(verbose > 0.3 && verbose < 0.5, `verbose mean ${verbose}`);
    const hedging = mean(byStyle.get('hedging')!);
    assert.ok(hedging > 0.7 && hedging < 0.8, `hedging mean ${hedging}`);
  });

  it('is a function of the seed', () => {
    assert.deepEqual(generateSftCorpus({ seed: 11, size: 200 }), corpus.slice(0, 200));
    assert.notDeepEqual(generateSftCorpus({ seed: 12, size: 200 }), corpus.slice(0, 200));
  });

  it('asks only scenario prompts, in user messages after an optional system message, with short responses', () => {
    for (const ex of corpus.slice(0, 3000)) {
      const user = ex.messages[ex.messages.length - 1]!;
      assert.equal(user.role, 'user');
      assert.ok(ex.messages.length === 1 || ex.messages[0]!.role === 'system');
      assert.equal(findPrompt(user.content)?.key, ex.promptKey);
      const words = ex.response.split(/\s+/).length;
      assert.ok(words >= 1 && words <= 70, `${words} words: ${ex.response}`);
    }
  });

  it('renders through the shared chat template and dumps plain text for the tokenizer', () => {
    const ex = corpus.find((e) => e.messages.length === 2)!;
    assert.deepEqual(renderSftExample(ex), renderChatExample(ex.messages, ex.response));
    assert.deepEqual(renderSftExample(ex).completion, [{ text: ex.response }, { special: '<|end|>' }]);
    const text = corpusPlainText(corpus.slice(0, 10));
    const expectedLines = corpus.slice(0, 10).reduce((n, e) => n + e.messages.length + 1, 0);
    assert.equal(text.split('\n').length - 1, expectedLines);
    assert.ok(!text.includes('<|'), 'plain text must not contain special markers');
  });

  it('rejects a bad size', () => {
    assert.throws(() => generateSftCorpus({ seed: 1, size: -1 }), /size/);
    assert.throws(() => generateSftCorpus({ seed: 1, size: 1.5 }), /size/);
  });
});
