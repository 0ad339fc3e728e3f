// The RL prompt set: user prompts actually seen in production (the completion log),
// normalised, deduplicated, with every evaluation prompt removed, in a canonical order and
// content-addressed like a dataset snapshot — the same prompts give the same id, so a PPO
// run names exactly what it trained on and a rerun draws the same prompts.
//
// Generic: the caller supplies the exclusion (a predicate over prompt text; for the
// reference scenario `(t) => isHeldOutPrompt(resolvePrompt(t))`-style checks from
// src/scenario/eval-sets.ts). Reading the completion log is the repository's job.

import { createHash } from 'node:crypto';

export interface FrozenPromptSet {
  /** sha256 of the canonical prompt list. */
  id: string;
  /** Distinct prompts, sorted by code point. */
  prompts: string[];
  /** Prompts seen in the input (before dedup and exclusion). */
  seen: number;
  duplicates: number;
  excluded: number;
  /** Empty or whitespace-only prompts dropped. */
  empty: number;
}

export const PROMPT_SET_FORMAT = 'outerloop.prompt-set.v1';

/** Whitespace runs to one space, trimmed: two prompts differing only in spacing are one. */
export function canonicalPrompt(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export function freezePromptSet(prompts: Iterable<string>, isExcluded: (prompt: string) => boolean = () => false): FrozenPromptSet {
  const distinct = new Set<string>();
  let seen = 0;
  let duplicates = 0;
  let excluded = 0;
  let empty = 0;
  for (const raw of prompts) {
    seen++;
    if (typeof raw !== 'string') throw new TypeError(`prompts[${seen - 1}]: expected a string, got ${typeof raw}`);
    const p = canonicalPrompt(raw);
    if (p === '') {
      empty++;
      continue;
    }
    if (distinct.has(p)) {
      duplicates++;
      continue;
    }
    if (isExcluded(p)) {
      excluded++;
      continue;
    }
    distinct.add(p);
  }
  const sorted = [...distinct].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const id = createHash('sha256').update(JSON.stringify({ format: PROMPT_SET_FORMAT, prompts: sorted })).digest('hex');
  return { id, prompts: sorted, seen, duplicates, excluded, empty };
}
