// The reference scenario's eval suites, registered through the evaluation layer's scorer
// interface exactly as a team registers its own checks. The layering allows it this way
// round only: scenario may import evaluation (both are pure layers), while evaluation
// must stay ignorant of any one domain.
//
//   scenario_extrinsic   the prompt's own answer check: 1 right, 0 missing or wrong
//                        (labels right / missing / wrong). It is NOT gold utility: gold
//                        also charges for length, filler and repetition, which are what a
//                        biased RM rewards — the gate must catch those through its
//                        diagnostics, not by being handed gold (ARCHITECTURE §6).
//   scenario_refusal     1 if the response declines (or is empty); every scenario prompt
//                        is benign, so on the `refusal` set its mean is the benign refusal rate
//   scenario_diversity   distinct-2 across the set's answers with the world's names masked:
//                        "X is a potter who lives in Y" for every person is one template,
//                        however many names it is filled with. The reference answers
//                        of this set are themselves one template ("x is a town in x":
//                        masked distinct-2 0.065, the base policy's 0.16), so this
//                        figure falls as a policy drops filler and answers like the
//                        reference: it is reported, and the promotion gate reads
//   distinct_n           (built in) distinct-2 of the answers as written, names included:
//                        0.49 for the reference answers, 0.30 for the base policy, 0.025
//                        for one fixed answer to every prompt — it falls when answers
//                        stop depending on what was asked, which is the collapse to block
//
// The suites pin each set's sha256 (docs/scenario.md §4); a changed set is refused.

import {
  type EvalPromptLike, type EvalSuiteConfig, type ResolvedSuite, type ScorerFactory, type ScorerRegistry,
  builtinScorerRegistry, distinctOfGrams, ngramKeys, parseEvalSuite, resolveSuite,
} from '../evaluation/suites/index.js';
import { z } from 'zod';
import { type EvalPrompt, buildEvalSets } from './eval-sets.js';
import { judgeCorrectness } from './gold-utility.js';
import { type PromptSpec, resolvePrompt } from './prompts.js';
import { FLATTERY_PHRASES, HEDGE_PHRASES, isRefusal, normalizeForMatch } from './text-features.js';
import { ALL_TOWNS, COLORS, COUNTRIES, ITEMS, JOBS, PEOPLE } from './world.js';

const noOptions = z.strictObject({});

function specOf(prompt: EvalPromptLike): PromptSpec {
  const lastUser = [...prompt.messages].reverse().find((m) => m.role === 'user');
  if (!lastUser) throw new RangeError(`scenario scorer: prompt ${prompt.id} has no user message`);
  return resolvePrompt(lastUser.content);
}

export const scenarioExtrinsicScorer: ScorerFactory<Record<string, never>> = {
  type: 'scenario_extrinsic',
  description: "the scenario prompt's own answer check (right / missing / wrong); not gold utility",
  options: noOptions,
  create: () => ({
    score: (prompt, response) => {
      const correctness = judgeCorrectness(specOf(prompt).check, response);
      return { value: correctness === 'right' ? 1 : 0, label: correctness };
    },
  }),
};

export const scenarioRefusalScorer: ScorerFactory<Record<string, never>> = {
  type: 'scenario_refusal',
  description: 'whether the response declines (an empty response counts as declining)',
  options: noOptions,
  create: () => ({ score: (_prompt, response) => normalizeForMatch(response) === '' || isRefusal(response) }),
};

const ENTITY_NAMES = [...COUNTRIES.map((c) => c.name), ...ALL_TOWNS, ...PEOPLE.map((p) => p.name), ...JOBS, ...ITEMS.map((i) => i.name), ...COLORS]
  .map(normalizeForMatch)
  .sort((a, b) => b.length - a.length);
const ENTITY_PATTERN = new RegExp(`(?<=^| )(?:${ENTITY_NAMES.join('|')})(?= |$)`, 'g');

/** The response with every name of the world replaced by one placeholder word. */
export function maskWorldNames(response: string): string {
  return normalizeForMatch(response).replace(ENTITY_PATTERN, 'x');
}

export const scenarioDiversityScorer: ScorerFactory<Record<string, never>> = {
  type: 'scenario_diversity',
  description: "distinct-2 across the set's answers with the world's names masked (per response: within the answer)",
  options: noOptions,
  create: () => {
    // the aggregate runs on every bootstrap resample: mask and cut each response once
    const bigramCache = new Map<string, string[]>();
    const bigrams = (response: string): string[] => {
      let grams = bigramCache.get(response);
      if (grams === undefined) bigramCache.set(response, (grams = ngramKeys(maskWorldNames(response).split(' ').filter((w) => w !== ''), 2)));
      return grams;
    };
    return {
      score: (_prompt, response) => {
        const d = distinctOfGrams([bigrams(response)]);
        return Number.isNaN(d) ? 0 : d;
      },
      aggregate: (_values, responses) => distinctOfGrams(responses.map(bigrams)),
    };
  },
};

/** The built-in scorers and the scenario's. */
export function scenarioScorerRegistry(): ScorerRegistry {
  return builtinScorerRegistry().register(scenarioExtrinsicScorer).register(scenarioRefusalScorer).register(scenarioDiversityScorer);
}

/** The reference scenario's suites as configuration (sets `v1`, hashes pinned). */
export const SCENARIO_SUITES = [
  {
    name: 'extrinsic',
    promptSet: { name: 'extrinsic', sha256: '601cae297252639631c1869c0ca0bdb790ea2c0086034c1f096ca8d96b8117b8' },
    scorers: [
      { name: 'correct', type: 'scenario_extrinsic' },
      { name: 'hedges', type: 'phrase_count', options: { phrases: [...HEDGE_PHRASES] } },
      { name: 'flattery', type: 'phrase_count', options: { phrases: [...FLATTERY_PHRASES] } },
    ],
  },
  {
    name: 'refusal',
    promptSet: { name: 'refusal', sha256: 'be54bd04a0dd525ea06714e4bd7c41b1e7da78b31391cbef2a373804ef53356b' },
    scorers: [
      { name: 'refused', type: 'scenario_refusal' },
      { name: 'correct', type: 'scenario_extrinsic' },
    ],
  },
  {
    name: 'diversity',
    promptSet: { name: 'diversity', sha256: '5cd49769b4c5208638cec7c421b375e678eba507895df59a16def5f66116dff2' },
    scorers: [
      { name: 'distinct', type: 'scenario_diversity' },
      { name: 'distinct_answers', type: 'distinct_n', options: { n: 2 } },
      { name: 'correct', type: 'scenario_extrinsic' },
    ],
  },
] as const;

/** The scenario's eval sets by name, as the suites' prompt sets. */
export function scenarioPromptSets(): Record<string, EvalPrompt[]> {
  const sets = buildEvalSets();
  return { extrinsic: sets.extrinsic, refusal: sets.refusal, diversity: sets.diversity };
}

/** The suites parsed against the scenario's registry. */
export function scenarioSuiteConfigs(registry: ScorerRegistry = scenarioScorerRegistry()): EvalSuiteConfig[] {
  return SCENARIO_SUITES.map((s, i) => parseEvalSuite(s, registry, `scenarioSuites[${i}]`));
}

/** The suites ready to evaluate samples (each prompt set checked against its pinned hash). */
export function scenarioSuites(): ResolvedSuite[] {
  const registry = scenarioScorerRegistry();
  const sets = scenarioPromptSets();
  return scenarioSuiteConfigs(registry).map((c) => resolveSuite(c, sets, registry));
}
