// Byte-level BPE tokenizer (Sennrich et al. 2016 "Neural Machine Translation of Rare
// Words with Subword Units"; byte-level variant and pre-tokenization regex from
// GPT-2, Radford et al. 2019).
//
// Id layout (fixed, so a tokenizer JSON is just its merges):
//   0..255                  one id per byte (WTF-8 bytes, see wtf8.ts)
//   256..256+S-1            the special tokens of chat-template.ts, in SPECIAL_TOKENS order
//   256+S..                 merges, in the order they were learned (= their rank)
//
// Special tokens are only produced by encodeSegments({special}) — never from text:
// a user typing "<|end|>" gets the ordinary bytes of that string.

import { createHash } from 'node:crypto';
import { SPECIAL_TOKENS, type PromptSegment, type SpecialToken } from '../chat-template.js';
import { decodeWtf8, encodeWtf8Into } from './wtf8.js';

export const BYTE_VOCAB = 256;
export const TOKENIZER_FORMAT = 'outerloop-byte-bpe';
export const TOKENIZER_FORMAT_VERSION = 1;

/**
 * GPT-2's pre-tokenization pattern: contractions, optional-space + letters, optional-space
 * + digits, optional-space + other symbols, whitespace runs. Merges never cross a
 * pre-token boundary, which keeps tokens word-like and makes a per-pre-token cache effective.
 */
export const GPT2_PRETOKENIZE_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

export interface TokenizerJson {
  format: typeof TOKENIZER_FORMAT;
  version: number;
  pattern: string;
  specialTokens: string[];
  /** merges[r] = [left id, right id] creates id 256 + S + r */
  merges: [number, number][];
}

/** A malformed tokenizer file or an id outside the vocabulary. Not retriable: the input is wrong. */
export class TokenizerError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}

const pairKey = (a: number, b: number): number => a * 65536 + b;

/** Bound on the per-pre-token cache so a long-running server cannot grow it without limit. */
const ENCODE_CACHE_LIMIT = 200_000;

export class BpeTokenizer {
  readonly specialTokens: readonly string[];
  readonly merges: readonly (readonly [number, number])[];
  readonly vocabSize: number;
  readonly pattern: string;
  private readonly regex: RegExp;
  private readonly mergeRank = new Map<number, number>();
  private readonly tokenBytes: Uint8Array[];
  private readonly specialIds = new Map<string, number>();
  private readonly encodeCache = new Map<string, readonly number[]>();
  private hashCache: string | null = null;

  constructor(json: TokenizerJson) {
    if (json.format !== TOKENIZER_FORMAT) throw new TokenizerError(`tokenizer.format: expected "${TOKENIZER_FORMAT}", got ${JSON.stringify(json.format)}`);
    if (json.version !== TOKENIZER_FORMAT_VERSION) throw new TokenizerError(`tokenizer.version: unsupported ${json.version}`);
    if (!Array.isArray(json.specialTokens) || !Array.isArray(json.merges)) throw new TokenizerError('tokenizer: specialTokens and merges must be arrays');
    this.specialTokens = [...json.specialTokens];
    this.pattern = json.pattern;
    this.regex = new RegExp(json.pattern, 'gu');
    const firstMergeId = BYTE_VOCAB + this.specialTokens.length;
    this.tokenBytes = [];
    for (let b = 0; b < BYTE_VOCAB; b++) this.tokenBytes.push(Uint8Array.of(b));
    this.specialTokens.forEach((s, i) => {
      this.specialIds.set(s, BYTE_VOCAB + i);
      this.tokenBytes.push(new Uint8Array(0)); // specials have no byte form; decode handles them apart
    });
    const merges: [number, number][] = [];
    json.merges.forEach((m, r) => {
      const newId = firstMergeId + r;
      if (!Array.isArray(m) || m.length !== 2) throw new TokenizerError(`tokenizer.merges[${r}]: expected [left, right]`);
      for (const part of m) {
        const isMergeable = Number.isInteger(part) && part >= 0 && part < newId && (part < BYTE_VOCAB || part >= firstMergeId);
        if (!isMergeable) throw new TokenizerError(`tokenizer.merges[${r}]: id ${part} is not a byte or an earlier merge`);
      }
      const key = pairKey(m[0], m[1]);
      if (this.mergeRank.has(key)) throw new TokenizerError(`tokenizer.merges[${r}]: duplicate pair [${m[0]}, ${m[1]}]`);
      this.mergeRank.set(key, r);
      const left = this.tokenBytes[m[0]];
      const right = this.tokenBytes[m[1]];
      const bytes = new Uint8Array(left.length + right.length);
      bytes.set(left, 0);
      bytes.set(right, left.length);
      this.tokenBytes.push(bytes);
      merges.push([m[0], m[1]]);
    });
    this.merges = merges;
    this.vocabSize = firstMergeId + merges.length;
  }

  static fromJson(text: string | TokenizerJson): BpeTokenizer {
    const json = typeof text === 'string' ? (JSON.parse(text) as TokenizerJson) : text;
    return new BpeTokenizer(json);
  }

  toJson(): TokenizerJson {
    return {
      format: TOKENIZER_FORMAT,
      version: TOKENIZER_FORMAT_VERSION,
      pattern: this.pattern,
      specialTokens: [...this.specialTokens],
      merges: this.merges.map(([a, b]) => [a, b]),
    };
  }

  /** Canonical JSON text (stable key order) — what artifacts store and hash. */
  serialize(): string {
    return JSON.stringify(this.toJson());
  }

  /** sha256 of the canonical JSON: two tokenizers with the same hash tokenize identically. */
  hash(): string {
    this.hashCache ??= createHash('sha256').update(this.serialize()).digest('hex');
    return this.hashCache;
  }

  specialId(token: SpecialToken | string): number {
    const id = this.specialIds.get(token);
    if (id === undefined) throw new TokenizerError(`special token ${JSON.stringify(token)} is not in this tokenizer`);
    return id;
  }

  isSpecial(id: number): boolean {
    return id >= BYTE_VOCAB && id < BYTE_VOCAB + this.specialTokens.length;
  }

  /** The bytes a (non-special) token stands for; empty for special tokens. */
  bytesOf(id: number): Uint8Array {
    const b = this.tokenBytes[id];
    if (b === undefined) throw new TokenizerError(`token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
    return b;
  }

  /** Split text into pre-tokens; the pieces always concatenate back to `text` exactly. */
  pretokenize(text: string): string[] {
    const pieces: string[] = [];
    let last = 0;
    this.regex.lastIndex = 0;
    for (const m of text.matchAll(this.regex)) {
      // The GPT-2 pattern covers every code point, but a custom pattern might not:
      // keep any gap as its own piece so encoding stays lossless whatever the pattern.
      if (m.index > last) pieces.push(text.slice(last, m.index));
      if (m[0].length > 0) pieces.push(m[0]);
      last = m.index + m[0].length;
    }
    if (last < text.length) pieces.push(text.slice(last));
    return pieces;
  }

  /** Ordinary text → ids (never special ids). */
  encode(text: string): number[] {
    const out: number[] = [];
    this.encodeInto(text, out);
    return out;
  }

  encodeInto(text: string, out: number[]): void {
    for (const piece of this.pretokenize(text)) {
      let ids = this.encodeCache.get(piece);
      if (ids === undefined) {
        ids = this.applyMerges(piece);
        if (this.encodeCache.size >= ENCODE_CACHE_LIMIT) this.encodeCache.clear();
        this.encodeCache.set(piece, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  /** Chat-template segments → ids; `{special}` segments become their single id. */
  encodeSegments(segments: readonly PromptSegment[]): number[] {
    const out: number[] = [];
    for (const seg of segments) {
      if ('special' in seg) out.push(this.specialId(seg.special));
      else this.encodeInto(seg.text, out);
    }
    return out;
  }

  /** ids → text. Special ids render as their marker text; invalid byte runs as U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    let text = '';
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (this.isSpecial(id)) {
        if (bytes.length > 0) text += decodeWtf8(bytes).text;
        bytes.length = 0;
        text += this.specialTokens[id - BYTE_VOCAB];
      } else {
        for (const b of this.bytesOf(id)) bytes.push(b);
      }
    }
    if (bytes.length > 0) text += decodeWtf8(bytes).text;
    return text;
  }

  /** Standard BPE application: repeatedly merge the adjacent pair with the lowest rank. */
  private applyMerges(piece: string): number[] {
    const ids: number[] = [];
    encodeWtf8Into(piece, ids);
    const firstMergeId = BYTE_VOCAB + this.specialTokens.length;
    while (ids.length > 1) {
      let bestRank = Infinity;
      let bestAt = -1;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.mergeRank.get(pairKey(ids[i], ids[i + 1]));
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          bestAt = i;
        }
      }
      if (bestAt < 0) break;
      const a = ids[bestAt];
      const b = ids[bestAt + 1];
      const merged = firstMergeId + bestRank;
      // merge every occurrence of the pair, left to right (same result as one at a time)
      let w = 0;
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
          ids[w++] = merged;
          i++;
        } else ids[w++] = ids[i];
      }
      ids.length = w;
    }
    return ids;
  }
}

/**
 * Train merges on a corpus. Deterministic: pairs are counted over distinct pre-tokens
 * weighted by frequency, and ties on count go to the smallest (left id, right id).
 */
export function trainBpeTokenizer(opts: {
  corpus: Iterable<string>;
  vocabSize: number;
  specialTokens?: readonly string[];
  pattern?: string;
}): BpeTokenizer {
  const specialTokens = [...(opts.specialTokens ?? SPECIAL_TOKENS)];
  const pattern = opts.pattern ?? GPT2_PRETOKENIZE_PATTERN;
  const firstMergeId = BYTE_VOCAB + specialTokens.length;
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < firstMergeId || opts.vocabSize > 65536) {
    throw new TokenizerError(`vocabSize: must be an integer in [${firstMergeId}, 65536], got ${opts.vocabSize}`);
  }
  const splitter = new BpeTokenizer({ format: TOKENIZER_FORMAT, version: TOKENIZER_FORMAT_VERSION, pattern, specialTokens, merges: [] });

  const wordCounts = new Map<string, number>();
  for (const doc of opts.corpus) {
    for (const piece of splitter.pretokenize(doc)) wordCounts.set(piece, (wordCounts.get(piece) ?? 0) + 1);
  }
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [piece, count] of wordCounts) {
    const bytes: number[] = [];
    encodeWtf8Into(piece, bytes);
    if (bytes.length < 2) continue;
    words.push(bytes);
    freqs.push(count);
  }

  // Incremental pair statistics: only words containing the merged pair are re-counted.
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addWordPairs = (w: number, sign: 1 | -1): void => {
    const ids = words[w];
    for (let i = 0; i + 1 < ids.length; i++) {
      const k = pairKey(ids[i], ids[i + 1]);
      pairCounts.set(k, (pairCounts.get(k) ?? 0) + sign * freqs[w]);
      if (sign > 0) {
        let set = pairWords.get(k);
        if (!set) pairWords.set(k, (set = new Set()));
        set.add(w);
      }
    }
  };
  for (let w = 0; w < words.length; w++) addWordPairs(w, 1);

  const merges: [number, number][] = [];
  while (firstMergeId + merges.length < opts.vocabSize) {
    let bestKey = -1;
    let bestCount = 0;
    for (const [k, c] of pairCounts) {
      if (c > bestCount || (c === bestCount && c > 0 && k < bestKey)) {
        bestKey = k;
        bestCount = c;
      }
    }
    if (bestKey < 0 || bestCount <= 0) break; // corpus exhausted: fewer merges than asked
    const a = Math.floor(bestKey / 65536);
    const b = bestKey % 65536;
    const newId = firstMergeId + merges.length;
    merges.push([a, b]);
    const affected = pairWords.get(bestKey) ?? new Set<number>();
    pairWords.delete(bestKey);
    for (const w of affected) {
      addWordPairs(w, -1);
      const ids = words[w];
      let out = 0;
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
          ids[out++] = newId;
          i++;
        } else ids[out++] = ids[i];
      }
      ids.length = out;
      addWordPairs(w, 1);
    }
    for (const [k, c] of pairCounts) if (c === 0) pairCounts.delete(k);
  }
  return new BpeTokenizer({ format: TOKENIZER_FORMAT, version: TOKENIZER_FORMAT_VERSION, pattern, specialTokens, merges });
}
