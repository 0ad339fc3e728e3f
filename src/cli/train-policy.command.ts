// `outerloop train ppo --rm VERSION [--prompts ID] [--steps N] [--seed S] …`: PPO from the
// production policy (or --policy) against a registered reward model, through the same
// PpoService as the `ppo` job. Progress on stderr (a bar on a terminal with reward, KL, β
// and ETA); the result (registered candidate, run directory, last step's figures) is one
// JSON object on stdout. Ctrl-C cancels at the next step boundary; checkpoints stay under
// checkpoints/ppo/<run id>, so the same command resumes.
import { LocalArtifactStore } from '../platform/artifacts/local-artifact-store.js';
import { TrainingCancelledError } from '../engine/train/training-program.js';
import { RewardObjectiveSchema } from '../platform/messaging/events.js';
import { ensembleObjectiveOf } from '../services/trainer/ppo.job.js';
import { PpoService } from '../services/trainer/ppo.service.js';
import { scenarioTrainingPrompts } from '../services/trainer/scenario-prompts.js';
import { numberFlag, stringFlag, takeFlags, UsageError, type ParsedArgs } from './args.js';
import { withDatabase } from './database.js';
import { cancelOnInterrupt, progressReporter } from './train-progress.js';

export const TRAIN_PPO_USAGE = `usage: outerloop train ppo --rm VERSION [--prompts PROMPT_SET_ID] [--steps N] [--seed S]
         [--policy VERSION] [--objective mean|uwo|wco] [--batch PROMPTS] [--max-tokens N]
         [--kl-coef B] [--target-kl K] [--checkpoint-every STEPS] [--threads N]`;

export async function trainPpoCommand(args: ParsedArgs): Promise<void> {
  const f = takeFlags(args, ['rm', 'prompts', 'steps', 'seed', 'policy', 'objective', 'batch', 'max-tokens', 'kl-coef', 'target-kl', 'checkpoint-every', 'threads']);
  const rewardModelVersion = stringFlag(f.rm, 'rm');
  if (!rewardModelVersion) throw new UsageError(`train ppo: --rm is required\n${TRAIN_PPO_USAGE}`);
  const objective = RewardObjectiveSchema.safeParse(stringFlag(f.objective, 'objective', 'mean'));
  if (!objective.success) throw new UsageError(`--objective must be mean, uwo or wco, got ${JSON.stringify(f.objective)}`);
  const promptSetId = stringFlag(f.prompts, 'prompts');
  const policyVersionId = stringFlag(f.policy, 'policy');
  const optional = (flag: string, fallback: number): number | undefined => (f[flag] !== undefined ? numberFlag(f[flag], flag, fallback) : undefined);
  const klCoef = optional('kl-coef', 0.05);
  const targetKl = optional('target-kl', 6);
  const promptsPerStep = optional('batch', 64);
  const checkpointEvery = optional('checkpoint-every', 0);
  const threads = optional('threads', 2);
  const progress = progressReporter(process.stderr, 'train ppo', (p) =>
    `step ${p.step}/${p.totalSteps} reward ${(p.metrics.reward ?? Number.NaN).toFixed(4)} KL ${(p.metrics.kl ?? Number.NaN).toFixed(4)}` +
    ` β ${(p.metrics.beta ?? Number.NaN).toFixed(3)} ETA ${Math.round(p.etaSeconds)}s`);
  const interrupt = cancelOnInterrupt();
  try {
    const outcome = await withDatabase((repositories, appConfig) => {
      const service = new PpoService(repositories, new LocalArtifactStore(appConfig.artifactDir), {
        defaultPrompts: scenarioTrainingPrompts().prompts,
        defaults: { maxTokens: numberFlag(f['max-tokens'], 'max-tokens', 48) },
        ...(threads !== undefined ? { intraOpThreads: threads } : {}),
      });
      return service.train({
        rewardModelVersion,
        ...(policyVersionId ? { policyVersionId } : {}),
        ...(promptSetId ? { promptSetId } : {}),
        steps: numberFlag(f.steps, 'steps', 64),
        seed: numberFlag(f.seed, 'seed', 0),
        objective: ensembleObjectiveOf(objective.data),
        ...(klCoef !== undefined ? { klCoef } : {}),
        ...(targetKl !== undefined ? { targetKl } : {}),
        ...(promptsPerStep !== undefined ? { promptsPerStep } : {}),
        ...(checkpointEvery !== undefined ? { checkpointEvery } : {}),
        onProgress: progress.update,
        signal: interrupt.signal,
      });
    });
    progress.done();
    const last = outcome.result.history[outcome.result.history.length - 1];
    process.stdout.write(JSON.stringify({
      version: outcome.version.id,
      status: outcome.version.status,
      artifactPath: outcome.version.artifactPath,
      rewardModelVersion: outcome.rewardModel.id,
      trainingRunId: outcome.trainingRunId,
      runPath: outcome.runPath,
      stop: outcome.result.stop,
      steps: outcome.result.steps,
      resumedFromStep: outcome.result.resumedFromStep,
      checkpoints: outcome.result.checkpoints.map((c) => ({ step: c.step, dir: c.dir, reward: c.metrics.reward_mean, kl: c.metrics.kl_k1 })),
      last: last ? { reward: last.reward_mean, kl: last.kl_k1, klK3: last.kl_k3, beta: last.beta, entropy: last.entropy } : null,
      findings: outcome.result.findings,
    }) + '\n');
  } catch (e) {
    progress.done();
    if (!(e instanceof TrainingCancelledError)) throw e;
    process.stderr.write(`cancelled after step ${e.step}; checkpoints kept, nothing registered\n`);
    process.exitCode = 130;
  } finally {
    interrupt.dispose();
  }
}
