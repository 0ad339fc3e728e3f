// `outerloop eval --candidate DIR|VERSION [--incumbent DIR|VERSION] [--suites a,b]
//  [--seed N] [--seeds 1,2] [--max-tokens N] [--policy FILE]`
// Evaluates a candidate policy against the incumbent (default: the production policy) on
// every configured suite, records the evaluation and both gate decisions (the configured
// policy and the naive one), and prints the report's path and the verdicts. A directory
// that holds an artifact is registered as a candidate model version first (its id is
// `policy-` + the first 12 hex digits of its artifact id).
//
// `outerloop eval --run ID|DIR [--rm VERSION] [--reference DIR|VERSION] [--judge VERSION] [--every K] …`
// Run evaluation (EvaluatorService.evaluateRun): every k-th checkpoint of a PPO run on the
// suites, the checkpoint chosen by eval, and that one judged against the incumbent. ID is a
// training run on record (the ppo job's); DIR is a PPO run directory (step-NNNNNN/
// checkpoints), recorded as a training run first — it names no reward model or reference,
// so --rm is required and --reference defaults to the production policy.
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isArtifactDir, readArtifactManifest } from '../engine/artifact/artifact.js';
import { LocalArtifactStore } from '../platform/artifacts/local-artifact-store.js';
import type { Repositories } from '../platform/persistence/repositories/index.js';
import { type EvaluateRunResult, DEFAULT_EVAL_SAMPLING, EvaluatorService } from '../services/evaluator/evaluator.service.js';
import { RewardModelScorers } from '../services/evaluator/reward-model-scorers.js';
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
  const f = takeFlags(args, ['candidate', 'incumbent', 'suites', 'seed', 'seeds', 'max-tokens', 'policy', 'run', 'rm', 'reference', 'judge', 'every']);
  const candidateRef = stringFlag(f.candidate, 'candidate');
  const runRef = stringFlag(f.run, 'run');
  if (!candidateRef && !runRef) throw new UsageError('eval needs --candidate DIR|VERSION or --run ID|DIR');
  if (candidateRef && runRef) throw new UsageError('eval takes --candidate or --run, not both (a run\'s candidate is chosen by eval)');
  for (const flag of ['rm', 'reference', 'judge', 'every'] as const) if (!runRef && f[flag] !== undefined) throw new UsageError(`--${flag} goes with --run`);
  const seeds = seedsOf(f);
  const maxTokens = numberFlag(f['max-tokens'], 'max-tokens', DEFAULT_EVAL_SAMPLING.maxTokens);
  const suites = stringFlag(f.suites, 'suites')?.split(',').map((s) => s.trim()).filter(Boolean);
  const policyFile = stringFlag(f.policy, 'policy');
  const every = numberFlag(f.every, 'every', 1);
  if (!Number.isInteger(every) || every < 1) throw new UsageError(`--every needs an integer ≥ 1, got ${every}`);
  await withDatabase(async (repositories, config) => {
    const artifacts = new LocalArtifactStore(config.artifactDir);
    const evaluator = new EvaluatorService({ ...repositories, artifacts }, { bootstrap: { seed: seeds[0]!, resamples: 1000 } });
    const policy = policyFile ? await readGatePolicyFile(policyFile, evaluator.catalog) : undefined;
    const incumbentRef = stringFlag(f.incumbent, 'incumbent');
    const incumbent = incumbentRef ? await modelVersionOf(repositories, incumbentRef, 'incumbent') : undefined;
    if (runRef) {
      const scorers = new RewardModelScorers(repositories.modelRegistry, artifacts);
      try {
        const rmFlag = stringFlag(f.rm, 'rm');
        const runId = await runIdOf(repositories, runRef, rmFlag, stringFlag(f.reference, 'reference'));
        const judgeRef = stringFlag(f.judge, 'judge');
        const result = await evaluator.evaluateRun({
          runId, incumbent, suites, seeds, maxTokens, policy, every,
          ...(rmFlag ? { rewardModelVersion: rmFlag } : {}),
          rewardScorerFor: (version) => scorers.forVersion(version),
          ...(judgeRef ? { judge: await scorers.forVersion(judgeRef) } : {}),
          onCheckpoint: (done, total, c) => process.stderr.write(`checkpoint ${done}/${total}: step ${c.step}, KL ${c.kl.toFixed(3)}, proxy reward ${c.proxyReward.value.toFixed(3)}\n`),
        });
        printResult(result, artifacts, runLines(result));
      } finally {
        await scorers.close();
      }
      return;
    }
    const candidate = await modelVersionOf(repositories, candidateRef!, 'candidate');
    const result = await evaluator.evaluate({ candidate, incumbent, suites, seeds, maxTokens, policy });
    printResult(result, artifacts, [`evaluation ${result.evaluationId}: candidate ${candidate} vs incumbent ${result.evaluation.incumbent}`]);
  });
}

function printResult(result: Awaited<ReturnType<EvaluatorService['evaluate']>>, artifacts: LocalArtifactStore, head: string[]): void {
  const lines = [
    ...head,
    `report: ${artifacts.resolve(result.reportPath)}`,
    ...result.decisions.map((d) => {
      const failing = d.rules.filter((r) => r.verdict === 'fail').map((r) => r.rule);
      return `  ${d.policyName}: ${d.verdict}${failing.length ? ` (failing: ${failing.join(', ')})` : ''}${d.missing?.length ? ` (missing: ${d.missing.join(', ')})` : ''}`;
    }),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/** The run's checkpoints, the eval choice and the Gao fit, as lines above the verdicts. */
function runLines(r: EvaluateRunResult): string[] {
  const metric = r.choice.metric;
  const fit = r.evaluation.overoptimization;
  return [
    `run ${r.runId} (reward model ${r.rewardModelVersion}): ${r.checkpoints.length} checkpoints evaluated (step 0 = the run's reference)`,
    ...r.checkpoints.map((c) => `  step ${c.step}: KL ${c.kl.toFixed(3)}, proxy reward ${c.proxyReward.value.toFixed(3)}, ${metric} ${c.metrics[metric]?.value.toFixed(3) ?? '—'} [${c.metrics[metric]?.lower.toFixed(3) ?? '—'}, ${c.metrics[metric]?.upper.toFixed(3) ?? '—'}]`),
    `chosen by eval (1-SE rule on ${metric}): step ${r.choice.step} → ${r.chosenCandidate}; eval peak at step ${r.choice.bestStep}`,
    fit
      ? `Gao fit (${fit.form}): d* ${fit.peakD?.toFixed(3) ?? 'none (no peak)'}, KL at d* ${fit.peakKl?.toFixed(3) ?? '—'}, R² ${fit.r2.toFixed(3)}`
      : 'Gao fit: not enough checkpoints above KL 0',
    `evaluation ${r.evaluationId}: ${r.chosenCandidate} vs incumbent ${r.evaluation.incumbent}`,
  ];
}

/** A training run id on record, or a PPO run directory recorded as a training run (with its checkpoints). */
async function runIdOf(repositories: Repositories, ref: string, rm: string | undefined, referenceRef: string | undefined): Promise<string> {
  if (await repositories.training.getRun(ref)) {
    if (referenceRef) throw new UsageError('--reference goes with --run DIR: a recorded run names its own reference');
    return ref;
  }
  const dir = resolve(ref);
  const steps = (await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') throw new UsageError(`--run: "${ref}" is neither a training run on record nor a directory`);
    throw e;
  })).map((name) => ({ name, step: /^step-(\d+)$/.exec(name)?.[1] })).filter((e): e is { name: string; step: string } => e.step !== undefined);
  const checkpoints: { step: number; dir: string }[] = [];
  for (const e of steps) if (await isArtifactDir(join(dir, e.name))) checkpoints.push({ step: Number(e.step), dir: join(dir, e.name) });
  if (checkpoints.length === 0) throw new UsageError(`--run: ${dir} holds no step-NNNNNN checkpoint artifacts`);
  if (!rm) throw new UsageError('--run DIR needs --rm VERSION: a run directory does not record the reward model it optimised');
  let baseModelId: string;
  if (referenceRef) baseModelId = await modelVersionOf(repositories, referenceRef, 'reference');
  else {
    const [production] = await repositories.modelRegistry.findByStatus('policy', 'production');
    if (!production) throw new UsageError('--run DIR: no production policy is registered; name the run\'s starting policy with --reference');
    baseModelId = production.id;
  }
  const first = await readArtifactManifest(checkpoints[0]!.dir);
  const runId = `ppo-dir-${createHash('sha256').update(`${dir}\u0000${first.artifactId}`).digest('hex').slice(0, 20)}`;
  await repositories.training.startRun({ id: runId, kind: 'ppo', config: { rewardModelVersion: rm, dir }, baseModelId, datasetSnapshotId: null, seed: 0 });
  for (const c of checkpoints) await repositories.training.recordCheckpoint({ id: `${runId}:step-${c.step}`, runId, step: c.step, metrics: {}, artifactPath: c.dir });
  await repositories.training.finishRun(runId, 'succeeded');
  return runId;
}
