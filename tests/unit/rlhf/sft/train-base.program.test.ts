// SFT on a TrainThread (engine/train/train-thread.ts + rlhf/sft/train-base.program.ts):
// progress arrives on this thread step by step, a cancel stops the run between steps and
// writes nothing (unless asked), a NaN run fails with NonFiniteError naming its tensor and
// writes nothing, and this thread's event loop stays responsive while steps run.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isArtifactDir, readArtifact } from '../../../../src/engine/artifact/artifact.js';
import { NonFiniteError } from '../../../../src/engine/errors.js';
import { initGptParameters } from '../../../../src/engine/gpt/params.js';
import { Trainer, type TrainProgress } from '../../../../src/engine/train/trainer.js';
import { TrainThread } from '../../../../src/engine/train/train-thread.js';
import { TrainingCancelledError } from '../../../../src/engine/train/training-program.js';
import { renderChatExample } from '../../../../src/engine/chat-template.js';
import { sftLoss } from '../../../../src/rlhf/sft/sft.loss.js';
import { startTrainBase, type TrainBaseParams } from '../../../../src/rlhf/sft/train-base.program.js';
import { sftBatch } from '../../../../src/rlhf/sft/train-base.js';

const QA: Array<[string, string]> = [
  ['What is the capital of Velmora?', 'The capital of Velmora is Ostrand.'],
  ['How do I kill a Linux process?', 'Use kill with the process id.'],
  ['What is 2 plus 3?', '2 plus 3 is 5.'],
];
const corpus = Array.from({ length: 24 }, (_, i) => renderChatExample([{ role: 'user', content: QA[i % QA.length]![0] }], QA[i % QA.length]![1]));
const tiny = { channels: 32, layers: 1, heads: 2, maxSeqLen: 64 };

/** Lateness of a 5 ms timer, re-armed until `work` settles (and once more, to see the turn after it). */
async function timerLagWhile(work: Promise<unknown>): Promise<number[]> {
  const lags: number[] = [];
  let settled = false;
  const done = work.finally(() => {
    settled = true;
  });
  await new Promise<void>((resolve) => {
    const arm = (): void => {
      const due = performance.now() + 5;
      setTimeout(() => {
        lags.push(Math.max(0, performance.now() - due));
        if (settled) resolve();
        else arm();
      }, 5);
    };
    arm();
  });
  await done;
  return lags;
}

const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;

describe('train-base on a TrainThread', () => {
  let root: string;
  const dir = async (name: string): Promise<string> => {
    root ??= await mkdtemp(join(tmpdir(), 'outerloop-train-thread-'));
    return join(root, name);
  };
  const params = (outDir: string, extra: Partial<TrainBaseParams> = {}): TrainBaseParams => ({ outDir, seed: 3, corpus, steps: 6, config: tiny, vocabSize: 300, batchSize: 8, maxLr: 1e-2, intraOpThreads: 1, ...extra });
  after(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('reports every step (loss, metrics, tokens/s, ETA) and returns the written artifact', async () => {
    const outDir = await dir('ok');
    const seen: TrainProgress[] = [];
    const summary = await startTrainBase(params(outDir), { onProgress: (p) => seen.push(p) }).done;
    assert.deepEqual(seen.map((p) => p.step), [1, 2, 3, 4, 5, 6]);
    assert.ok(seen.every((p) => p.totalSteps === 6 && Number.isFinite(p.loss) && p.tokensPerSecond > 0 && p.stepMs > 0 && p.etaSeconds >= 0 && p.metrics.target_tokens! > 0));
    assert.equal(seen[5]!.etaSeconds, 0);
    assert.equal(summary.steps, 6);
    assert.equal(summary.cancelled, false);
    assert.equal(summary.finalLoss, seen[5]!.loss);
    const written = await readArtifact(outDir);
    assert.equal(written.manifest.artifactId, summary.manifest.artifactId);
  });

  it('a cancel from the progress of step 1 stops the run between steps and writes nothing', async () => {
    const outDir = await dir('cancelled');
    const seen: number[] = [];
    const run = startTrainBase(params(outDir, { steps: 100_000 }), {
      onProgress: (p) => {
        seen.push(p.step);
        if (p.step === 1) run.cancel();
      },
    });
    await assert.rejects(run.done, (e: unknown) => e instanceof TrainingCancelledError && e.code === 'training_cancelled' && e.step >= 1 && e.step < 100_000 && e.retriable === false);
    assert.equal(await isArtifactDir(outDir), false, 'no checkpoint from a cancelled run');
    assert.equal(seen[0], 1);
  });

  it('a cancelled run asked to checkpoint writes the steps it completed', async () => {
    const outDir = await dir('cancelled-checkpoint');
    const controller = new AbortController();
    const run = startTrainBase(params(outDir, { steps: 100_000, checkpointOnCancel: true }), { signal: controller.signal, onProgress: (p) => p.step === 2 && controller.abort() });
    const summary = await run.done;
    assert.equal(summary.cancelled, true);
    assert.ok(summary.steps >= 2 && summary.steps < 100_000);
    const written = await readArtifact(outDir);
    assert.equal(written.manifest.notes.cancelledAtStep, summary.steps);
  });

  it('a run that diverges to NaN fails with NonFiniteError naming the tensor, and writes nothing', async () => {
    const outDir = await dir('nan');
    // a learning rate no model survives: the weights overflow within a few steps
    const run = startTrainBase(params(outDir, { steps: 50, maxLr: 1e30 }));
    await assert.rejects(run.done, (e: unknown) => e instanceof NonFiniteError && e.code === 'non_finite' && (e.tensor === 'loss' || e.tensor.startsWith('grad.')) && typeof e.step === 'number' && e.retriable === false);
    assert.equal(await isArtifactDir(outDir), false, 'no checkpoint from a NaN run');
  });

  it('keeps this thread responsive: timer lag stays far below a step, unlike a step run here', async () => {
    const config = { ...tiny, channels: 96, layers: 2, heads: 4 };
    const outDir = await dir('responsive');
    const stepMs: number[] = [];
    const run = startTrainBase(params(outDir, { steps: 8, config, batchSize: 24 }), { onProgress: (p) => stepMs.push(p.stepMs) });
    const lags = await timerLagWhile(run.done);
    const medianStep = [...stepMs].sort((a, b) => a - b)[stepMs.length >> 1]!;

    // the control: the same kind of step on this thread holds the loop for the whole step
    const local = { ...config, vocabSize: 300 };
    const trainer = await Trainer.create(local, sftLoss, initGptParameters(local, 1), { schedule: { maxLr: 1e-3, warmupSteps: 0, totalSteps: 2 }, intraOpThreads: 1 });
    const batch = sftBatch(Array.from({ length: 16 }, (_, i) => ({ ids: Int32Array.from({ length: 40 }, (_, t) => (i * 7 + t) % 300), promptLength: 10 })), 0);
    await trainer.trainStep([batch]); // warm-up: session creation
    let localStepMs = 0;
    const localLags = await timerLagWhile(trainer.trainStep([batch]).then((p) => void (localStepMs = p.stepMs)));

    // p50 and p90, not the max: on a loaded machine the OS may deschedule this thread now
    // and then whatever runs elsewhere; a loop held by training is late at EVERY timer
    const [p50, p90] = [quantile(lags, 0.5), quantile(lags, 0.9)];
    console.log(`median step ${medianStep.toFixed(1)} ms on the thread; timer lag p50 ${p50.toFixed(2)} / p90 ${p90.toFixed(2)} / max ${Math.max(...lags).toFixed(2)} ms over ${lags.length} timers; a step on this thread (${localStepMs.toFixed(1)} ms) delayed a timer by ${Math.max(...localLags).toFixed(1)} ms`);
    assert.ok(lags.length >= 20, `only ${lags.length} timers fired while training`);
    assert.ok(Math.max(...localLags) >= localStepMs * 0.5, 'the control must show a held loop, or the measurement proves nothing');
    // a loop held by each step would put p50 near half a step and p90 near a whole one
    assert.ok(p50 < medianStep / 5 && p90 < medianStep / 2, `timer lag p50 ${p50.toFixed(2)} / p90 ${p90.toFixed(2)} ms vs median step ${medianStep.toFixed(1)} ms`);
  });

  it('a module without a trainingProgram fails with a TypeError naming it', async () => {
    const run = TrainThread.start(new URL('../../../../src/rlhf/sft/sft.loss.js', import.meta.url), {});
    await assert.rejects(run.done, (e: unknown) => e instanceof TypeError && /sft\.loss\.js: the module exports no trainingProgram/.test(e.message));
  });
});
