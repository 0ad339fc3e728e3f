// The built-in scorers. Each validates its options strictly at load, so a suite with a
// bad pattern, a negative tolerance or an empty phrase list is refused with the option's
// path, not discovered halfway through an evaluation.

import { z } from 'zod';
import { type JsonSchema, jsonSchemaSchema, validateJsonSchema } from './json-schema.js';
import { type EvalPromptLike, type ScorerFactory, ScorerRegistry } from './scorer.js';
import { countPhrases, distinctOfGrams, ngramKeys, normalizeText, wordsOf } from './text.js';

function referenceOf(prompt: EvalPromptLike, scorer: string): string {
  if (typeof prompt.reference !== 'string') throw new RangeError(`scorer ${scorer}: prompt ${prompt.id} has no reference to compare with`);
  return prompt.reference;
}

const exactMatchOptions = z.strictObject({
  /** compare letter case too (default false) */
  caseSensitive: z.boolean().default(false),
  /** ignore punctuation and runs of whitespace (default true) */
  normalize: z.boolean().default(true),
});

/** 1 when the response equals the prompt's reference (after normalization), else 0. */
export const exactMatchScorer: ScorerFactory<z.infer<typeof exactMatchOptions>> = {
  type: 'exact_match',
  description: "1 if the response equals the prompt's reference, else 0",
  options: exactMatchOptions,
  create: (o) => {
    const canon = (s: string): string => {
      const t = o.normalize ? s.replace(/[^\p{L}\p{N}]+/gu, ' ').trim() : s;
      return o.caseSensitive ? t : t.toLowerCase();
    };
    return { score: (prompt, response) => canon(response) === canon(referenceOf(prompt, 'exact_match')) };
  },
};

const regexOptions = z.strictObject({
  pattern: z.string().min(1),
  flags: z.string().regex(/^[imsu]*$/, 'flags may only use i, m, s, u').default(''),
  /** what scores 1: a response that matches (default) or one that does not */
  expect: z.enum(['match', 'no_match']).default('match'),
}).superRefine((o, ctx) => {
  try {
    new RegExp(o.pattern, o.flags);
  } catch (e) {
    ctx.addIssue({ code: 'custom', path: ['pattern'], message: `not a valid regular expression: ${(e as Error).message}` });
  }
});

export const regexScorer: ScorerFactory<z.infer<typeof regexOptions>> = {
  type: 'regex',
  description: '1 if the response matches the pattern (or, with expect: no_match, does not), else 0',
  options: regexOptions,
  create: (o) => {
    const re = new RegExp(o.pattern, o.flags);
    return { score: (_prompt, response) => re.test(response) === (o.expect === 'match') };
  },
};

const jsonSchemaOptions = z.strictObject({ schema: jsonSchemaSchema });

/** The response (or the body of a ```json fence in it) parsed as JSON and checked against the schema. */
function jsonBody(response: string): string {
  const fence = /```(?:json)?\s*\n([\s\S]*?)```/.exec(response);
  return (fence ? fence[1]! : response).trim();
}

export const jsonSchemaScorer: ScorerFactory<{ schema: JsonSchema }> = {
  type: 'json_schema',
  description: "1 if the response is JSON that satisfies the schema (labels: valid, invalid_json, schema_mismatch)",
  options: jsonSchemaOptions,
  create: (o) => ({
    score: (_prompt, response) => {
      let value: unknown;
      try {
        value = JSON.parse(jsonBody(response));
      } catch (e) {
        if (!(e instanceof SyntaxError)) throw e;
        return { value: 0, label: 'invalid_json' }; // a response that is not JSON is a score, not an error
      }
      return validateJsonSchema(o.schema, value).length === 0 ? { value: 1, label: 'valid' } : { value: 0, label: 'schema_mismatch' };
    },
  }),
};

const NUMBER = /-?\d+(?:\.\d+)?/g;
const lastNumber = (text: string): number | null => {
  const all = text.replaceAll(',', '').match(NUMBER);
  return all ? Number(all[all.length - 1]) : null;
};

const numericOptions = z.strictObject({
  /** allowed |response − expected| (absolute), or a share of |expected| with relative: true */
  tolerance: z.number().min(0),
  relative: z.boolean().default(false),
});

/** The last number in the response against the last number in the prompt's reference. Labels: right, wrong, missing. */
export const numericToleranceScorer: ScorerFactory<z.infer<typeof numericOptions>> = {
  type: 'numeric',
  description: "1 if the response's last number is within the tolerance of the reference's last number",
  options: numericOptions,
  create: (o) => ({
    score: (prompt, response) => {
      const expected = lastNumber(referenceOf(prompt, 'numeric'));
      if (expected === null) throw new RangeError(`scorer numeric: the reference of prompt ${prompt.id} contains no number`);
      const got = lastNumber(response);
      if (got === null) return { value: 0, label: 'missing' };
      const allowed = o.relative ? o.tolerance * Math.abs(expected) : o.tolerance;
      return Math.abs(got - expected) <= allowed ? { value: 1, label: 'right' } : { value: 0, label: 'wrong' };
    },
  }),
};

const phraseOptions = z.strictObject({
  phrases: z.array(z.string().refine((p) => normalizeText(p) !== '', 'a phrase must contain a letter or digit')).min(1),
  /** count: occurrences per response; any: 1 if the response contains any phrase (a rate) */
  mode: z.enum(['count', 'any']).default('count'),
});

/** Whole-phrase counts of a configurable list (hedges, flattery, sign-offs, refusal markers). */
export const phraseCountScorer: ScorerFactory<z.infer<typeof phraseOptions>> = {
  type: 'phrase_count',
  description: 'occurrences of the listed phrases per response (mode any: the share of responses with one)',
  options: phraseOptions,
  create: (o) => ({
    score: (_prompt, response) => {
      const n = countPhrases(response, o.phrases);
      return o.mode === 'any' ? n > 0 : n;
    },
  }),
};

const distinctOptions = z.strictObject({ n: z.number().int().min(1).max(4).default(2) });

/**
 * distinct-n of the suite's answers taken together (Li et al. 2016), the whole words of
 * each answer as they are: a policy that stops depending on the prompt (the same answer,
 * or the same filler, whatever was asked) drives it down, while answers that share a
 * sentence shape but name what each prompt asked about keep it up. Per response it is
 * the answer's own distinct-n (repetition within one answer).
 */
export const distinctNScorer: ScorerFactory<z.infer<typeof distinctOptions>> = {
  type: 'distinct_n',
  description: "distinct n-grams ÷ all n-grams over the suite's answers (per response: within the answer)",
  options: distinctOptions,
  create: (o) => {
    const cache = new Map<string, string[]>();
    const grams = (response: string): string[] => {
      let g = cache.get(response);
      if (g === undefined) cache.set(response, (g = ngramKeys(wordsOf(response), o.n)));
      return g;
    };
    return {
      score: (_prompt, response) => {
        const d = distinctOfGrams([grams(response)]);
        return Number.isNaN(d) ? 0 : d;
      },
      aggregate: (_values, responses) => distinctOfGrams(responses.map(grams)),
    };
  },
};

/** A registry with the built-in scorers; register your own (and a scenario's) on it. */
export function builtinScorerRegistry(): ScorerRegistry {
  return new ScorerRegistry()
    .register(exactMatchScorer)
    .register(regexScorer)
    .register(jsonSchemaScorer)
    .register(numericToleranceScorer)
    .register(phraseCountScorer)
    .register(distinctNScorer);
}
