// The RL prompt set the loop trains on (ARCHITECTURE §6, step 3): the user prompts the
// completion log holds up to a time — canonicalised and deduplicated by freezePromptSet,
// with every prompt of the configured eval suites removed — frozen under its content
// hash at prompt-sets/<id>.json, where the trainer's ppo, rejection_sampling and
// best_of_n jobs load it by `promptSetId`. The same log up to the same time gives the
// same id, so a resumed iteration trains on exactly the prompts it froze first.
//
// A top-level services file: the orchestrator's snapshot step (through
// loop-snapshotter.ts) and the CLI (`outerloop prompts freeze`) both freeze with it.
import type { ResolvedSuite } from '../evaluation/suites/suite.js';
import type { ArtifactStore } from '../platform/artifacts/artifact-store.js';
import type { ICompletionRepository } from '../platform/persistence/repositories/index.js';
import { canonicalPrompt, freezePromptSet, PROMPT_SET_FORMAT, type FrozenPromptSet } from '../rlhf/prompts/prompt-set.js';
import { promptSetPath } from './trainer/optimisation-inputs.js';

export class RlPromptSetTooSmallError extends Error {
  readonly code = 'rl_prompt_set_too_small';
  readonly retriable = false;
  constructor(readonly count: number, readonly minimum: number, readonly to: string) {
    super(`RL prompt set: ${count} distinct non-eval prompt(s) in the completion log before ${to}; at least ${minimum} required (OUTERLOOP_LOOP_MIN_RL_PROMPTS)`);
    this.name = 'RlPromptSetTooSmallError';
  }
}

export interface RlPromptSetOptions {
  /** only completions created before this instant (ISO 8601) */
  to: string;
  /** the eval suites whose prompts must never be trained on (the evaluator's: scenarioSuites() by default) */
  evalSuites: readonly ResolvedSuite[];
  /** fewer distinct prompts than this → RlPromptSetTooSmallError */
  minPrompts: number;
}

/** Every eval prompt as the completion log would hold it: its last user message, canonical. */
export function evalPromptTexts(suites: readonly ResolvedSuite[]): Set<string> {
  const texts = new Set<string>();
  for (const suite of suites) {
    for (const prompt of suite.promptSet.prompts) {
      const lastUser = prompt.messages.findLast((m) => m.role === 'user');
      if (lastUser) texts.add(canonicalPrompt(lastUser.content));
    }
  }
  return texts;
}

/**
 * Freeze the completion log's prompts before `to` into a stored prompt set. Idempotent:
 * the id is the content hash, and a set already stored is not written again.
 */
export async function freezeRlPromptSet(
  deps: { completions: Pick<ICompletionRepository, 'userPromptsBefore'>; artifacts: ArtifactStore },
  options: RlPromptSetOptions,
): Promise<FrozenPromptSet> {
  const before = new Date(options.to);
  if (Number.isNaN(before.getTime())) throw new RangeError(`to: expected an ISO 8601 time, got ${JSON.stringify(options.to)}`);
  if (!Number.isInteger(options.minPrompts) || options.minPrompts < 0) throw new RangeError(`minPrompts: expected a non-negative integer, got ${options.minPrompts}`);

  // dedup while streaming, so memory is the distinct prompts, not the whole log;
  // freezePromptSet then drops the eval prompts and fixes the order and the id
  const distinct = new Set<string>();
  let seen = 0;
  let duplicates = 0;
  let empty = 0;
  for await (const raw of deps.completions.userPromptsBefore(before)) {
    seen++;
    const prompt = canonicalPrompt(raw);
    if (prompt === '') empty++;
    else if (distinct.has(prompt)) duplicates++;
    else distinct.add(prompt);
  }
  const evalTexts = evalPromptTexts(options.evalSuites);
  const frozen = freezePromptSet(distinct, (p) => evalTexts.has(p));
  if (frozen.prompts.length < options.minPrompts) throw new RlPromptSetTooSmallError(frozen.prompts.length, options.minPrompts, options.to);

  const path = promptSetPath(frozen.id);
  if (!(await deps.artifacts.exists(path))) {
    await deps.artifacts.put(path, JSON.stringify({ format: PROMPT_SET_FORMAT, id: frozen.id, prompts: frozen.prompts }));
  }
  return { ...frozen, seen, duplicates, empty };
}
