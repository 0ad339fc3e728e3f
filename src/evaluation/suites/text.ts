// Text measures of the behaviour diagnostics: words, whole-phrase counts, distinct-n and
// repetition. Matching is on normalized text (lower case, every run of non-alphanumerics
// one space), so "I'm sure!" contains the phrase "i m sure" and "hope" is not found in
// "hopeful".

export function normalizeText(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

/** Normalized words. */
export function wordsOf(text: string): string[] {
  const t = normalizeText(text);
  return t === '' ? [] : t.split(' ');
}

/** Whitespace-separated words of the raw text (what a reader counts as its length). */
export function rawWordCount(text: string): number {
  const t = text.trim();
  return t === '' ? 0 : t.split(/\s+/).length;
}

/** Whole-phrase occurrences of each phrase (normalized) in the text, summed; overlapping occurrences count. */
export function countPhrases(text: string, phrases: readonly string[]): number {
  const hay = ` ${normalizeText(text)} `;
  let count = 0;
  for (const phrase of phrases) {
    const needle = ` ${normalizeText(phrase)} `;
    if (needle.trim() === '') continue;
    for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + needle.length - 1)) count++;
  }
  return count;
}

/** The word n-grams of a word list, each as one space-joined string. */
export function ngramKeys(words: readonly string[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= words.length; i++) out.push(words.slice(i, i + n).join(' '));
  return out;
}

/**
 * distinct-n (Li et al. 2016, "A Diversity-Promoting Objective Function for Neural
 * Conversation Models"): distinct n-grams ÷ all n-grams over a set of responses; NaN
 * when the set has no n-gram. A policy collapsing onto one phrasing drives it down.
 */
export function distinctN(responses: readonly string[], n: number): number {
  return distinctOfGrams(responses.map((r) => ngramKeys(wordsOf(r), n)));
}

/** distinct-n of n-grams already cut (one list per response). */
export function distinctOfGrams(grams: readonly (readonly string[])[]): number {
  const seen = new Set<string>();
  let total = 0;
  for (const list of grams) {
    for (const g of list) seen.add(g);
    total += list.length;
  }
  return total === 0 ? Number.NaN : seen.size / total;
}

/** Share of a response's word n-grams (default trigrams) that repeat an earlier one: 0 for none, → 1 for a loop. */
export function repeatedNgramShare(text: string, n = 3): number {
  const grams = ngramKeys(wordsOf(text), n);
  if (grams.length === 0) return 0;
  return (grams.length - new Set(grams).size) / grams.length;
}
