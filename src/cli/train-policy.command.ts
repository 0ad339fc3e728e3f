// The policy optimisers from the command line, through the same services as their jobs:
//   `outerloop train ppo --rm VERSION [--prompts ID] [--steps N] [--seed S] …`: PPO against a
//     registered reward model (PpoService). Ctrl-C cancels at the next step boundary;
//     checkpoints stay under checkpoints/ppo/<run id>, so the same command resumes.
//   `outerloop train dpo --snapshot ID [--beta B] [--epochs E] …`: DPO on a dataset
//     snapshot's pairs (DpoService); a cancelled run starts over.
//   `outerloop train rs --rm VERSION --n N [--prompts ID] …`: rejection-sampling fine-tuning
//     (RejectionSamplingService); the winners stay under checkpoints/rejection-sampling/<run
//     id>, so the same command after Ctrl-C skips the sampling.
// Each starts from the production policy (or --policy). Progress on stderr (a bar on a
// terminal, a line every few seconds otherwise); the result (the registered candidate and
// its figures) is one JSON object on stdout.
import { LocalArtifactStore } from '../platform/artifacts/local-artifact-store.js';
import { TrainingCancelledError } from '../engine/train/training-program.js';
import { RewardObjectiveSchema } from '../platform/messaging/events.js';
import { ensembleObjectiveOf } from '../services/trainer/ppo.job.js';
import type { TrainProgress } from '../engine/train/trainer.js';
import { DpoService } from '../services/trainer/dpo.service.js';
import { DEFAULT_PPO_LEARNING_RATE, PpoService } from '../services/trainer/ppo.service.js';
import { RejectionSamplingService } from '../services/trainer/rejection-sampling.service.js';
import { scenarioTrainingPrompts } from '../services/trainer/scenario-prompts.js';
import { numberFlag, stringFlag, takeFlags, UsageError, type ParsedArgs } from './args.js';
import { withDatabase } from './database.js';
import { cancelOnInterrupt, progressReporter } from './train-progress.js';

export const TRAIN_PPO_USAGE = `usage: outerloop train ppo --rm VERSION [--prompts PROMPT_SET_ID] [--steps N] [--seed S]
         [--policy VERSION] [--objective mean|uwo|wco] [--batch PROMPTS] [--max-tokens N]
         [--kl-coef B] [--target-kl K] [--lr X] [--checkpoint-every STEPS] [--threads N]`;
export const TRAIN_DPO_USAGE = `usage: outerloop train dpo --snapshot ID [--beta B] [--epochs E] [--seed S] [--policy VERSION]
         [--lr X] [--batch PAIRS] [--threads N]`;
export const TRAIN_RS_USAGE = `usage: outerloop train rs --rm VERSION --n N [--prompts PROMPT_SET_ID] [--epochs E] [--seed S]
         [--policy VERSION] [--objective mean|uwo|wco] [--max-tokens N] [--lr X] [--batch N] [--threads N]`;

/** `outerloop train ppo|dpo|rs …` (`train rm` is train-rm.command.ts). */
export function trainPolicyCommand(what: 'ppo' | 'dpo' | 'rs', args: ParsedArgs): Promise<void> {
  return what === 'ppo' ? trainPpoCommand(args) : what === 'dpo' ? trainDpoCommand(args) : trainRsCommand(args);
}

/**
 * Runs `work` with a progress reporter on stderr and Ctrl-C as its cancel signal; prints
 * `summary(outcome)` as one JSON line on stdout. A cancel exits 130 with `cancelledNote`.
 */
async function runWithProgress<T>(
  label: string,
  describe: (p: TrainProgress) => string,
  work: (onProgress: (p: TrainProgress) => void, signal: AbortSignal) => Promise<T>,
  summary: (outcome: T) => unknown,
  cancelledNote: string,
): Promise<void> {
  const progress = progressReporter(process.stderr, label, describe);
  const interrupt = cancelOnInterrupt();
  try {
    const outcome = await work(progress.update, interrupt.signal);
    progress.done();
    process.stdout.write(JSON.stringify(summary(outcome)) + '\n');
  } catch (e) {
    progress.done();
    if (!(e instanceof TrainingCancelledError)) throw e;
    process.stderr.write(`cancelled after step ${e.step}; ${cancelledNote}\n`);
    process.exitCode = 130;
  } finally {
    interrupt.dispose();
  }
}

const objectiveFlag = (v: string | true | undefined) => {
  const objective = RewardObjectiveSchema.safeParse(stringFlag(v, 'objective', 'mean'));
  if (!objective.success) throw new UsageError(`--objective must be mean, uwo or wco, got ${JSON.stringify(v)}`);
  return ensembleObjectiveOf(objective.data);
};

export async function trainPpoCommand(args: ParsedArgs): Promise<void> {
  const f = takeFlags(args, ['rm', 'prompts', 'steps', 'seed', 'policy', 'objective', 'batch', 'max-tokens', 'kl-coef', 'target-kl', 'lr', 'checkpoint-every', 'threads']);
  const rewardModelVersion = stringFlag(f.rm, 'rm');
  if (!rewardModelVersion) throw new UsageError(`train ppo: --rm is required\n${TRAIN_PPO_USAGE}`);
  const objective = objectiveFlag(f.objective);
  const promptSetId = stringFlag(f.prompts, 'prompts');
  const policyVersionId = stringFlag(f.policy, 'policy');
  const optional = (flag: string, fallback: number): number | undefined => (f[flag] !== undefined ? numberFlag(f[flag], flag, fallback) : undefined);
  const klCoef = optional('kl-coef', 0.05);
  const targetKl = optional('target-kl', 6);
  const promptsPerStep = optional('batch', 64);
  const checkpointEvery = optional('checkpoint-every', 0);
  const learningRate = optional('lr', DEFAULT_PPO_LEARNING_RATE);
  const threads = optional('threads', 2);
  await runWithProgress(
    'train ppo',
    (p) =>
      `step ${p.step}/${p.totalSteps} reward ${(p.metrics.reward ?? Number.NaN).toFixed(4)} KL ${(p.metrics.kl ?? Number.NaN).toFixed(4)}` +
      ` β ${(p.metrics.beta ?? Number.NaN).toFixed(3)} ETA ${Math.round(p.etaSeconds)}s`,
    (onProgress, signal) =>
      withDatabase((repositories, appConfig) => {
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
          objective,
          ...(klCoef !== undefined ? { klCoef } : {}),
          ...(targetKl !== undefined ? { targetKl } : {}),
          ...(promptsPerStep !== undefined ? { promptsPerStep } : {}),
          ...(checkpointEvery !== undefined ? { checkpointEvery } : {}),
          ...(learningRate !== undefined ? { learningRate } : {}),
          onProgress,
          signal,
        });
      }),
    (outcome) => {
      const last = outcome.result.history[outcome.result.history.length - 1];
      return {
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
      };
    },
    'checkpoints kept, nothing registered',
  );
}

export async function trainDpoCommand(args: ParsedArgs): Promise<void> {
  const f = takeFlags(args, ['snapshot', 'beta', 'epochs', 'seed', 'policy', 'lr', 'batch', 'threads']);
  const snapshotId = stringFlag(f.snapshot, 'snapshot');
  if (!snapshotId) throw new UsageError(`train dpo: --snapshot is required\n${TRAIN_DPO_USAGE}`);
  const policyVersionId = stringFlag(f.policy, 'policy');
  const request = {
    snapshotId,
    beta: numberFlag(f.beta, 'beta', 0.1),
    epochs: numberFlag(f.epochs, 'epochs', 1),
    seed: numberFlag(f.seed, 'seed', 0),
    ...(policyVersionId ? { policyVersionId } : {}),
    ...(f.lr !== undefined ? { learningRate: numberFlag(f.lr, 'lr', 1e-4) } : {}),
    ...(f.batch !== undefined ? { batchSize: numberFlag(f.batch, 'batch', 8) } : {}),
  };
  await runWithProgress(
    'train dpo',
    (p) => `step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} acc ${(p.metrics.accuracy ?? Number.NaN).toFixed(2)} margin ${(p.metrics.reward_margin ?? Number.NaN).toFixed(3)} ETA ${Math.round(p.etaSeconds)}s`,
    (onProgress, signal) =>
      withDatabase((repositories, appConfig) =>
        new DpoService(repositories, new LocalArtifactStore(appConfig.artifactDir), f.threads !== undefined ? { intraOpThreads: numberFlag(f.threads, 'threads', 2) } : {}).train({ ...request, onProgress, signal }),
      ),
    (outcome) => ({
      version: outcome.version.id,
      status: outcome.version.status,
      artifactPath: outcome.version.artifactPath,
      trainingRunId: outcome.trainingRunId,
      snapshotId,
      pairs: outcome.pairs,
      skippedMultiTurn: outcome.skippedMultiTurn,
      steps: outcome.steps,
      finalLoss: outcome.result.finalLoss,
      finalAccuracy: outcome.result.finalAccuracy,
    }),
    'nothing registered (DPO starts over)',
  );
}

export async function trainRsCommand(args: ParsedArgs): Promise<void> {
  const f = takeFlags(args, ['rm', 'n', 'prompts', 'epochs', 'seed', 'policy', 'objective', 'max-tokens', 'lr', 'batch', 'threads']);
  const rewardModelVersion = stringFlag(f.rm, 'rm');
  if (!rewardModelVersion) throw new UsageError(`train rs: --rm is required\n${TRAIN_RS_USAGE}`);
  if (f.n === undefined) throw new UsageError(`train rs: --n is required (samples per prompt)\n${TRAIN_RS_USAGE}`);
  const n = numberFlag(f.n, 'n', 4);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new UsageError(`--n must be an integer from 1 to 256, got ${JSON.stringify(f.n)}`);
  const objective = objectiveFlag(f.objective);
  const promptSetId = stringFlag(f.prompts, 'prompts');
  const policyVersionId = stringFlag(f.policy, 'policy');
  await runWithProgress(
    'train rs',
    (p) =>
      (p.metrics.best_score !== undefined
        ? `sampling ${p.step}/${p.totalSteps} best-of-${n} score ${p.metrics.best_score.toFixed(4)} (one sample ${(p.metrics.sample_score ?? Number.NaN).toFixed(4)})`
        : `step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)}`) + ` ETA ${Math.round(p.etaSeconds)}s`,
    (onProgress, signal) =>
      withDatabase((repositories, appConfig) => {
        const service = new RejectionSamplingService(repositories, new LocalArtifactStore(appConfig.artifactDir), {
          defaultPrompts: scenarioTrainingPrompts().prompts,
          maxTokens: numberFlag(f['max-tokens'], 'max-tokens', 48),
          ...(f.lr !== undefined ? { lr: numberFlag(f.lr, 'lr', 1e-5) } : {}),
          ...(f.batch !== undefined ? { batchSize: numberFlag(f.batch, 'batch', 16) } : {}),
          ...(f.threads !== undefined ? { intraOpThreads: numberFlag(f.threads, 'threads', 2) } : {}),
        });
        return service.train({
          rewardModelVersion,
          n,
          epochs: numberFlag(f.epochs, 'epochs', 1),
          seed: numberFlag(f.seed, 'seed', 0),
          objective,
          ...(policyVersionId ? { policyVersionId } : {}),
          ...(promptSetId ? { promptSetId } : {}),
          onProgress,
          signal,
        });
      }),
    (outcome) => ({
      version: outcome.version.id,
      status: outcome.version.status,
      artifactPath: outcome.artifactPath,
      rewardModelVersion: outcome.rewardModel.id,
      trainingRunId: outcome.trainingRunId,
      reusedSelection: outcome.result.reusedSelection,
      steps: outcome.result.steps,
      finalLoss: outcome.result.finalLoss,
      selection: outcome.result.selection,
    }),
    'the winners are kept: the same command resumes after the sampling, nothing registered',
  );
}
