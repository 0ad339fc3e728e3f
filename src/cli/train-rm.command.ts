// `outerloop train rm --snapshot ID [--ensemble K] [--seed N] [--epochs E] …`: train a
// reward model on a dataset snapshot, register it with its report and quality-gate verdict.
// Training runs on a worker thread (TrainThread); this thread draws a progress bar on a
// terminal (stderr) or writes one progress line every few seconds otherwise. The result
// (version, status, artifact, report figures, gate verdict) is one JSON object on stdout.
// Ctrl-C cancels at the next step boundary; checkpoints stay, so the same command resumes.
import { LocalArtifactStore } from '../platform/artifacts/local-artifact-store.js';
import { TrainingCancelledError } from '../engine/train/training-program.js';
import { RewardModelService } from '../services/trainer/reward-model.service.js';
import { numberFlag, stringFlag, takeFlags, UsageError, type ParsedArgs } from './args.js';
import { withDatabase } from './database.js';
import { TRAIN_DPO_USAGE, TRAIN_PPO_USAGE, TRAIN_RS_USAGE } from './train-policy.command.js';
import { cancelOnInterrupt, progressReporter } from './train-progress.js';

export const TRAIN_RM_USAGE = `usage: outerloop train rm --snapshot ID [--split train|heldout] [--ensemble K] [--seed N] [--epochs E]
         [--lr X] [--policy VERSION] [--min-pairs N] [--gate JSON] [--threads N] [--checkpoint-every STEPS]`;

/** `outerloop train rm|ppo|dpo|rs …`: the reward model here, policies in train-policy.command.ts. */
export async function trainRmCommand(args: ParsedArgs): Promise<void> {
  const [what, ...extra] = args.positionals;
  if ((what === 'ppo' || what === 'dpo' || what === 'rs') && extra.length === 0) return (await import('./train-policy.command.js')).trainPolicyCommand(what, args);
  if (what !== 'rm' || extra.length > 0) throw new UsageError(`train: expected "train rm", "train ppo", "train dpo" or "train rs", got "train ${args.positionals.join(' ')}"
${TRAIN_RM_USAGE}
${TRAIN_PPO_USAGE}
${TRAIN_DPO_USAGE}
${TRAIN_RS_USAGE}`);
  const f = takeFlags(args, ['snapshot', 'split', 'ensemble', 'seed', 'epochs', 'lr', 'policy', 'min-pairs', 'gate', 'threads', 'checkpoint-every']);
  const snapshotId = stringFlag(f.snapshot, 'snapshot');
  if (!snapshotId) throw new UsageError(`train rm: --snapshot is required\n${TRAIN_RM_USAGE}`);
  const split = stringFlag(f.split, 'split') ?? 'train';
  if (split !== 'train' && split !== 'heldout') throw new UsageError(`--split: must be train or heldout (the judge RM), got ${JSON.stringify(split)}\n${TRAIN_RM_USAGE}`);
  // the configuration's RM quality gate (OUTERLOOP_RM_GATE_*) unless --gate overrides it
  let gate: unknown = undefined;
  if (f.gate !== undefined) {
    try {
      gate = JSON.parse(stringFlag(f.gate, 'gate')!);
    } catch (e) {
      throw new UsageError(`--gate needs a JSON object, e.g. '{"lengthCorrelation":{"max":0.2}}' (${(e as Error).message})`);
    }
  }
  const config = {
    seed: numberFlag(f.seed, 'seed', 1),
    ...(f.ensemble !== undefined ? { ensemble: numberFlag(f.ensemble, 'ensemble', 1) } : {}),
    ...(f.epochs !== undefined ? { epochs: numberFlag(f.epochs, 'epochs', 2) } : {}),
    ...(f.lr !== undefined ? { lr: numberFlag(f.lr, 'lr', 3e-4) } : {}),
    ...(f['checkpoint-every'] !== undefined ? { checkpointEvery: numberFlag(f['checkpoint-every'], 'checkpoint-every', 50) } : {}),
  };
  const progress = progressReporter(process.stderr, 'train rm', (p) =>
    `step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} acc ${(p.metrics.accuracy ?? Number.NaN).toFixed(2)}` +
    `${p.metrics.heldout_loss !== undefined ? ` held-out ${p.metrics.heldout_loss.toFixed(4)}` : ''} member ${p.metrics.member ?? 0}` +
    ` ${Math.round(p.tokensPerSecond)} tok/s ETA ${Math.round(p.etaSeconds)}s`);
  const interrupt = cancelOnInterrupt();
  try {
    const outcome = await withDatabase((repositories, appConfig) => {
      const service = new RewardModelService(repositories, new LocalArtifactStore(appConfig.artifactDir), {
        minPairs: numberFlag(f['min-pairs'], 'min-pairs', appConfig.rewardModel.minPairs),
        qualityGate: gate ?? appConfig.rewardModel.qualityGate,
        ...(f.threads !== undefined ? { intraOpThreads: numberFlag(f.threads, 'threads', 2) } : {}),
      });
      return service.train({ snapshotId, split, config, ...(stringFlag(f.policy, 'policy') ? { policyVersionId: stringFlag(f.policy, 'policy')! } : {}), onProgress: progress.update, signal: interrupt.signal });
    });
    progress.done();
    const r = outcome.summary.report;
    process.stdout.write(JSON.stringify({
      version: outcome.version.id,
      status: outcome.version.status,
      artifactPath: outcome.artifactPath,
      artifactId: outcome.summary.manifest.artifactId,
      members: outcome.summary.manifest.members,
      trainingRunId: outcome.trainingRunId,
      judge: outcome.version.metrics.judge === true,
      heldOutAccuracy: r ? { value: r.accuracy.value, lower: r.accuracy.lower, upper: r.accuracy.upper } : null,
      ece: r?.ece.value ?? null,
      scoreLengthSpearman: r?.length.scoreLengthSpearman.value ?? null,
      hardPairAccuracy: outcome.summary.hardPairs?.accuracy.value ?? null,
      gate: outcome.gate ? { verdict: outcome.gate.verdict, rules: outcome.gate.rules.map((x) => ({ rule: x.rule, value: x.value, threshold: x.threshold, result: x.result })) } : null,
      truncation: outcome.summary.truncation,
      throughput: outcome.summary.throughput,
    }) + '\n');
  } catch (e) {
    progress.done();
    if (!(e instanceof TrainingCancelledError)) throw e;
    process.stderr.write(`cancelled after step ${e.step}; nothing registered\n`);
    process.exitCode = 130;
  } finally {
    interrupt.dispose();
  }
}
