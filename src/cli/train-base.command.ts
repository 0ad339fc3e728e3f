// `outerloop train-base`: supervised fine-tuning of the shipped base policy on the
// reference scenario's corpus. Reproducible: the corpus, the tokenizer, the
// initialisation and the batch order all derive from --seed, and the step count is
// fixed (--minutes turns a time budget into steps on this machine instead, which
// is convenient but not reproducible elsewhere).
//
// Training runs on a worker thread (TrainThread); this thread logs its progress. Ctrl-C
// cancels at the next step boundary and writes nothing; --checkpoint-on-cancel writes the
// artifact of the steps completed instead.
import type { TrainProgress } from '../engine/train/trainer.js';
import { TrainingCancelledError } from '../engine/train/training-program.js';
import { startTrainBase } from '../rlhf/sft/train-base.program.js';
import { resolve } from 'node:path';
import { loadConfig } from '../config/config.js';
import { isArtifactDir } from '../engine/artifact/artifact.js';
import { configureLogging, Logger } from '../platform/logging/logger.js';
import { generateSftCorpus, renderSftExample } from '../scenario/sft-corpus.js';
import { numberFlag, stringFlag, takeFlags, UsageError, type ParsedArgs } from './args.js';

/** With --out models/base-policy --force, the defaults reproduce the shipped base policy (see models/README.md). */
export const TRAIN_BASE_DEFAULTS = { seed: 1, corpusSize: 20_000, steps: 1600 } as const;

export async function trainBaseCommand(args: ParsedArgs): Promise<void> {
  const f = takeFlags(args, ['out', 'force', 'seed', 'steps', 'minutes', 'corpus-size', 'batch-size', 'lr', 'checkpoint-on-cancel']);
  if (args.positionals.length) throw new UsageError(`train-base takes no arguments, got "${args.positionals.join(' ')}"`);
  const config = loadConfig();
  configureLogging(config.log);
  const log = new Logger('train-base');
  const seed = numberFlag(f.seed, 'seed', TRAIN_BASE_DEFAULTS.seed);
  const outDir = stringFlag(f.out, 'out', `${config.dataDir}/base-policy`)!;
  if (f.force !== undefined && f.force !== true) throw new UsageError('--force takes no value');
  // an artifact is a model someone may be serving (the shipped models/base-policy is one)
  if (f.force === undefined && (await isArtifactDir(resolve(outDir)))) {
    throw new UsageError(`${outDir} already holds a model artifact; pass --force to overwrite it, or choose another --out`);
  }
  const corpusSize = numberFlag(f['corpus-size'], 'corpus-size', TRAIN_BASE_DEFAULTS.corpusSize);
  const corpus = generateSftCorpus({ seed, size: corpusSize }).map(renderSftExample);
  const minutes = f.minutes === undefined ? undefined : numberFlag(f.minutes, 'minutes', 10);
  const steps = minutes === undefined ? numberFlag(f.steps, 'steps', TRAIN_BASE_DEFAULTS.steps) : undefined;
  log.info('training the base policy', { outDir, seed, corpusSize, steps: steps ?? `${minutes} min budget` });
  const params = {
    outDir,
    seed,
    corpus,
    steps,
    minutes,
    batchSize: f['batch-size'] === undefined ? undefined : numberFlag(f['batch-size'], 'batch-size', 16),
    maxLr: f.lr === undefined ? undefined : numberFlag(f.lr, 'lr', 2e-3),
    // weights live only in the serving graphs: the artifact stays small in git and
    // readArtifact rebuilds the parameter blob bit-exactly (models/README.md)
    paramsBlob: false,
    checkpointOnCancel: f['checkpoint-on-cancel'] !== undefined,
  };
  let lastLog = 0;
  const onProgress = (p: TrainProgress): void => {
    const now = Date.now();
    if (now - lastLog < 5000 && p.step !== p.totalSteps) return;
    lastLog = now;
    log.info('step', {
      step: `${p.step}/${p.totalSteps}`,
      loss: Number(p.loss.toFixed(4)),
      lr: Number(p.lr.toExponential(2)),
      gradNorm: Number(p.gradNorm.toFixed(3)),
      tokensPerSecond: Math.round(p.tokensPerSecond),
      etaSeconds: Math.round(p.etaSeconds),
    });
  };
  const run = startTrainBase(params, { onProgress });
  const onInterrupt = (): void => {
    log.info('cancelling at the next step boundary');
    run.cancel();
  };
  process.once('SIGINT', onInterrupt);
  try {
    const summary = await run.done;
    log.info(summary.cancelled ? 'cancelled; the steps completed were written' : 'base policy written; to serve it: outerloop models register DIR, then outerloop models promote VERSION', {
      outDir,
      artifactId: summary.manifest.artifactId,
      steps: summary.steps,
      finalLoss: summary.finalLoss,
    });
  } catch (e) {
    if (!(e instanceof TrainingCancelledError)) throw e;
    log.info('cancelled; nothing written', { outDir, stepsCompleted: e.step });
    process.exitCode = 130; // interrupted, as a shell reports Ctrl-C
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
