import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BpeTokenizer, BYTE_VOCAB, StreamingDecoder, TokenizerError, trainBpeTokenizer, decodeWtf8, encodeWtf8 } from '../../../../src/engine/tokenizer/index.js';
import { SPECIAL_TOKENS, renderChatExample } from '../../../../src/engine/chat-template.js';
import { mulberry32 } from '../../../support/mulberry32.js';

const CORPUS = [
  'How do I kill a Linux process? Use kill -9 with the process id, or pkill with its name.',
  'The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away.',
  "I'm sure you'll find it's the right answer: 42 is the number, 3.14159 is pi.",
  'Ünïcödé wörds — naïve café, 日本語のテキスト, emoji 😀🎉👍🏽 and 👨‍👩‍👧 families.',
  'def process(items):\n    for item in items:\n        print(item)\n',
];
const corpus = Array.from({ length: 30 }, (_, i) => CORPUS[i % CORPUS.length]);
const tok = trainBpeTokenizer({ corpus, vocabSize: 400 });


describe('BpeTokenizer', () => {
  it('learns exactly vocabSize - 256 - specials merges and compresses the training text', () => {
    assert.equal(tok.vocabSize, 400);
    assert.equal(tok.merges.length, 400 - BYTE_VOCAB - SPECIAL_TOKENS.length);
    const text = CORPUS[1];
    const ids = tok.encode(text);
    assert.ok(ids.length < new TextEncoder().encode(text).length / 2, `expected compression, got ${ids.length} tokens`);
    assert.ok(ids.every((id) => id < tok.vocabSize && !tok.isSpecial(id)));
  });

  it('round-trips emoji, ZWJ sequences, combining characters and CJK', () => {
    for (const s of ['😀', '👨‍👩‍👧 family', 'e\u0301 vs é', 'a\u0300\u0301\u0302', '日本語', 'tab\tnew\nline\r\n  spaces   ', '', '\u0000nul']) {
      assert.equal(tok.decode(tok.encode(s)), s);
    }
  });

  it('round-trips lone surrogates (WTF-8), including at string ends and next to real pairs', () => {
    const cases = ['\ud83d', '\ude00', 'a\ud83db', '\ud83d\ud83d\ude00', '😀\ude00', 'x\udbff', '\udc00\ud800'];
    for (const s of cases) {
      const back = tok.decode(tok.encode(s));
      assert.equal(back, s, `lone-surrogate string ${JSON.stringify(s)}`);
    }
    // the scheme itself: a lone high surrogate is the 3-byte generalized form ED A0 BD
    assert.deepEqual(encodeWtf8('\ud83d'), [0xed, 0xa0, 0xbd]);
    // well-formed strings are plain UTF-8
    assert.deepEqual(encodeWtf8('é😀'), [...new TextEncoder().encode('é😀')]);
  });

  it('round-trips 500 random strings of arbitrary UTF-16 code units', () => {
    const rand = mulberry32(7);
    const pools = [
      () => Math.floor(rand() * 0x80),
      () => Math.floor(rand() * 0x10000), // includes lone surrogates
      () => 0xd800 + Math.floor(rand() * 0x800),
      () => ' abcdefg.,\n'.charCodeAt(Math.floor(rand() * 11)),
    ];
    for (let n = 0; n < 500; n++) {
      const len = Math.floor(rand() * 40);
      const units: number[] = [];
      for (let i = 0; i < len; i++) units.push(pools[Math.floor(rand() * pools.length)]());
      const s = String.fromCharCode(...units);
      assert.equal(tok.decode(tok.encode(s)), s, `random string #${n} ${JSON.stringify(s)}`);
    }
  });

  it('never produces special ids from user text; encodeSegments maps markers to single ids', () => {
    const ids = tok.encode('<|end|><|user|>hi');
    assert.ok(ids.every((id) => !tok.isSpecial(id)));
    assert.equal(tok.decode(ids), '<|end|><|user|>hi');
    const ex = renderChatExample([{ role: 'user', content: 'hi <|end|>' }], 'ok');
    const promptIds = tok.encodeSegments(ex.prompt);
    assert.equal(promptIds[0], tok.specialId('<|user|>'));
    assert.equal(promptIds.at(-1), tok.specialId('<|assistant|>'));
    assert.equal(promptIds.filter((id) => id === tok.specialId('<|end|>')).length, 0);
    const completionIds = tok.encodeSegments(ex.completion);
    assert.equal(completionIds.at(-1), tok.specialId('<|end|>'));
    assert.equal(tok.decode(promptIds), '<|user|>hi <|end|>\n<|assistant|>');
    assert.equal(tok.specialId('<|system|>'), BYTE_VOCAB);
  });

  it('training is deterministic and serialization round-trips with a stable hash', () => {
    const again = trainBpeTokenizer({ corpus, vocabSize: 400 });
    assert.deepEqual(again.merges, tok.merges);
    assert.equal(again.hash(), tok.hash());
    const loaded = BpeTokenizer.fromJson(tok.serialize());
    assert.equal(loaded.hash(), tok.hash());
    assert.deepEqual(loaded.encode(CORPUS[3]), tok.encode(CORPUS[3]));
    const other = trainBpeTokenizer({ corpus, vocabSize: 399 });
    assert.notEqual(other.hash(), tok.hash());
  });

  it('rejects malformed JSON with an error naming the field', () => {
    const bad = tok.toJson();
    bad.merges[3] = [9999, 1];
    assert.throws(() => new BpeTokenizer(bad), (e: unknown) => e instanceof TokenizerError && /merges\[3\]/.test(e.message));
    assert.throws(() => tok.decode([tok.vocabSize]), TokenizerError);
  });

  it('ties break deterministically toward the smallest pair', () => {
    // pre-tokens 'cd', ' ab', ' cd', ' ab': (c,d), (' ',a), (a,b) all occur twice → (' ', a) has the smallest ids.
    const t = trainBpeTokenizer({ corpus: ['cd ab cd ab'], vocabSize: BYTE_VOCAB + SPECIAL_TOKENS.length + 1 });
    assert.deepEqual(t.merges[0], [' '.charCodeAt(0), 'a'.charCodeAt(0)]);
    const t2 = trainBpeTokenizer({ corpus: ['ab', 'cd'], vocabSize: BYTE_VOCAB + SPECIAL_TOKENS.length + 1 });
    assert.deepEqual(t2.merges[0], ['a'.charCodeAt(0), 'b'.charCodeAt(0)]);
  });
});

describe('StreamingDecoder', () => {
  it('releases text only at character boundaries and matches decode()', () => {
    const text = 'emoji 😀🎉 e\u0301 日本 \ud83d end';
    // byte-level ids force multi-byte characters to span tokens
    const ids = encodeWtf8(text);
    const dec = new StreamingDecoder(tok);
    let out = '';
    for (const id of ids) {
      const piece = dec.push(id);
      assert.ok(!piece.includes('\ufffd'), 'no replacement characters mid-stream');
      out += piece;
    }
    out += dec.flush();
    assert.equal(out, text);
    assert.equal(decodeWtf8(ids).text, text);
  });

  it('emits specials immediately and turns a dangling partial character into U+FFFD', () => {
    const dec = new StreamingDecoder(tok);
    assert.equal(dec.push(0xf0), '');
    assert.equal(dec.push(0x9f), '');
    assert.equal(dec.push(tok.specialId('<|end|>')), '\ufffd<|end|>');
    const ids = [0xf0, 0x9f, tok.specialId('<|end|>')];
    assert.equal(tok.decode(ids), '\ufffd<|end|>');
  });

  it('a long text is encoded through the pre-token cache: one BPE run per distinct pre-token', () => {
    // The claim is structural (a timing bound would race the clock on a loaded machine):
    // ~150 KB of repeated words fill the cache with only the distinct pre-tokens.
    const long = CORPUS.join(' ').repeat(400);
    const cache = (tok as unknown as { encodeCache: Map<string, readonly number[]> }).encodeCache;
    const before = cache.size;
    const ids = tok.encode(long);
    assert.equal(tok.decode(ids), long);
    const distinct = new Set(long.match(new RegExp(tok.pattern, 'gu')) ?? []);
    const added = cache.size - before;
    assert.ok(added <= distinct.size, `the cache grew by ${added} entries for ${distinct.size} distinct pre-tokens`);
    assert.ok(ids.length > 10 * distinct.size, 'the text repeats its pre-tokens many times');
    assert.deepEqual(tok.encode(long), ids);
  });
});
