// `outerloop eval --candidate DIR|VERSION [--incumbent DIR|VERSION] [--suites a,b]
//  [--seed N] [--seeds 1,2] [--max-tokens N] [--policy FILE]`
// Evaluates a candidate policy against the incumbent (default: the production policy) on
// every configured suite, records the evaluation and both gate decisions (the configured
// policy and the naive one), and prints the report's path and the verdicts. A directory
// that holds an artifact is registered as a candidate model version first (its id is
// `policy-` + the first 12 hex digits of its artifact id).
import { resolve } from 'node:path';
import { isArtifactDir, readArtifactManifest } from '../engine/artifact/artifact.js';
import { LocalArtifactStore } from '../platform/artifacts/local-artifact-store.js';
import type { Repositories } from '../platform/persistence/repositories/index.js';
import { DEFAULT_EVAL_SAMPLING, EvaluatorService } from '../services/evaluator/evaluator.service.js';
import { readGatePolicyFile } from './gate-policy-file.js';
import { numberFlag, stringFlag, takeFlags, UsageError, type ParsedArgs } from './args.js';
import { withDatabase } from './database.js';

/** A model version id, or an artifact directory registered on the fly. */
async function modelVersionOf(repositories: Repositories, ref: string, flag: string): Promise<string> {
  if (await repositories.modelRegistry.get(ref)) return ref;
  const dir = resolve(ref);
  if (!(await isArtifactDir(dir))) throw new UsageError(`--${flag}: "${ref}" is neither a registered model version nor an artifact directory`);
  const manifest = await readArtifactManifest(dir);
  if (manifest.kind !== 'policy') throw new UsageError(`--${flag}: ${dir} holds a ${manifest.kind} model, not a policy`);
  const version = await repositories.modelRegistry.register(
    { id: `policy-${manifest.artifactId.slice(0, 12)}`, kind: 'policy', artifactPath: dir, sha256: manifest.artifactId, trainingRunId: null },
    { ifAbsent: true },
  );
  return version.id;
}

function seedsOf(f: Record<string, string | true | undefined>): number[] {
  const list = stringFlag(f.seeds, 'seeds');
  if (list !== undefined) {
    const seeds = list.split(',').map((s) => Number(s.trim()));
    if (seeds.some((s) => !Number.isSafeInteger(s))) throw new UsageError(`--seeds needs integers separated by commas, got ${JSON.stringify(list)}`);
    return seeds;
  }
  const seed = numberFlag(f.seed, 'seed', DEFAULT_EVAL_SAMPLING.seeds[0]);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed needs an integer, got ${seed}`);
  return DEFAULT_EVAL_SAMPLING.seeds.map((_, i) => seed + i);
}

export async function evalCommand(args: ParsedArgs): Promise<void> {
  const f = takeFlags(args, ['candidate', 'incumbent', 'suites', 'seed', 'seeds', 'max-tokens', 'policy']);
  const candidateRef = stringFlag(f.candidate, 'candidate');
  if (!candidateRef) throw new UsageError('eval needs --candidate DIR|VERSION');
  const seeds = seedsOf(f);
  const maxTokens = numberFlag(f['max-tokens'], 'max-tokens', DEFAULT_EVAL_SAMPLING.maxTokens);
  const suites = stringFlag(f.suites, 'suites')?.split(',').map((s) => s.trim()).filter(Boolean);
  const policyFile = stringFlag(f.policy, 'policy');
  await withDatabase(async (repositories, config) => {
    const artifacts = new LocalArtifactStore(config.artifactDir);
    const evaluator = new EvaluatorService({ ...repositories, artifacts }, { bootstrap: { seed: seeds[0]!, resamples: 1000 } });
    const policy = policyFile ? await readGatePolicyFile(policyFile, evaluator.catalog) : undefined;
    const candidate = await modelVersionOf(repositories, candidateRef, 'candidate');
    const incumbentRef = stringFlag(f.incumbent, 'incumbent');
    const incumbent = incumbentRef ? await modelVersionOf(repositories, incumbentRef, 'incumbent') : undefined;
    const result = await evaluator.evaluate({ candidate, incumbent, suites, seeds, maxTokens, policy });
    const lines = [
      `evaluation ${result.evaluationId}: candidate ${candidate} vs incumbent ${result.evaluation.incumbent}`,
      `report: ${artifacts.resolve(result.reportPath)}`,
      ...result.decisions.map((d) => {
        const failing = d.rules.filter((r) => r.verdict === 'fail').map((r) => r.rule);
        return `  ${d.policyName}: ${d.verdict}${failing.length ? ` (failing: ${failing.join(', ')})` : ''}${d.missing?.length ? ` (missing: ${d.missing.join(', ')})` : ''}`;
      }),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  });
}
