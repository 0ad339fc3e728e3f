// What every policy optimiser in the trainer (PPO, rejection sampling, best-of-n) starts
// from besides the reward model (whose refusal — unknown, rejected, judge — is
// rewardModelToOptimise in src/services/reward-model-version.ts, shared with the gateway's
// best-of-n mode): the frozen prompt set a request names (prompt-sets/<id>.json in the
// artifact store).
import type { ModelVersionRecord } from '../../domain/models.js';
import type { ArtifactStore } from '../../platform/artifacts/artifact-store.js';
import type { Repositories } from '../../platform/persistence/repositories/index.js';
import { PROMPT_SET_FORMAT } from '../../rlhf/prompts/prompt-set.js';
import { rewardModelToOptimise } from '../reward-model-version.js';
import { resolvePolicy } from './reward-model.service.js';

export class PromptSetNotFoundError extends Error {
  readonly code = 'prompt_set_not_found';
  readonly retriable = false;
  constructor(readonly promptSetId: string) {
    super(`prompt set ${JSON.stringify(promptSetId)} is not in the artifact store (${promptSetPath(promptSetId)})`);
    this.name = 'PromptSetNotFoundError';
  }
}

/** Where a frozen prompt set is stored: `{ format, id, prompts }`. */
export const promptSetPath = (id: string): string => `prompt-sets/${id}.json`;

/** The prompts of stored prompt set `id`, checked against its format and id. */
export async function loadPromptSet(artifacts: ArtifactStore, id: string): Promise<string[]> {
  if (!/^[0-9a-f]{64}$/.test(id) || !(await artifacts.exists(promptSetPath(id)))) throw new PromptSetNotFoundError(id);
  const stored = JSON.parse((await artifacts.get(promptSetPath(id))).toString('utf8')) as { format?: string; id?: string; prompts?: unknown };
  if (stored.format !== PROMPT_SET_FORMAT || stored.id !== id || !Array.isArray(stored.prompts) || !stored.prompts.every((p) => typeof p === 'string')) {
    throw new Error(`${promptSetPath(id)}: not a ${PROMPT_SET_FORMAT} prompt set with id ${id}`);
  }
  return stored.prompts as string[];
}

/** The RM to optimise against (refused if unknown, rejected or a judge), the policy to start
 * from (default: production) and the prompts (the named frozen set, else `defaultPrompts`). */
export async function resolveOptimisationInputs(
  registry: Repositories['modelRegistry'],
  artifacts: ArtifactStore,
  defaultPrompts: readonly string[],
  request: { rewardModelVersion: string; policyVersionId?: string; promptSetId?: string },
): Promise<{ rewardModel: ModelVersionRecord; policy: ModelVersionRecord; prompts: string[] }> {
  const rewardModel = await rewardModelToOptimise(registry, request.rewardModelVersion);
  const policy = await resolvePolicy(registry, request.policyVersionId);
  const prompts = request.promptSetId ? await loadPromptSet(artifacts, request.promptSetId) : [...defaultPrompts];
  return { rewardModel, policy, prompts };
}

/** The job parameters every optimiser job shares, as its service's request fields. */
export function optimisationRequestOf(p: { rewardModelVersion: string; basePolicy?: string; promptSetId?: string; seed: number }) {
  return {
    rewardModelVersion: p.rewardModelVersion,
    ...(p.basePolicy !== undefined ? { policyVersionId: p.basePolicy } : {}),
    ...(p.promptSetId !== undefined ? { promptSetId: p.promptSetId } : {}),
    seed: p.seed,
  };
}
