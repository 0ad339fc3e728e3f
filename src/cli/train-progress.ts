// Training progress on stderr for the `outerloop train …` commands.
import type { TrainProgress } from '../engine/train/trainer.js';

/** A bar redrawn in place on a terminal; a line every 5 s (and at the end) otherwise. */
export function progressReporter(stream: NodeJS.WriteStream, label: string, describe: (p: TrainProgress) => string): { update: (p: TrainProgress) => void; done: () => void } {
  let lastLine = 0;
  let drawn = false;
  return {
    update(p) {
      if (stream.isTTY) {
        const width = 30;
        const filled = Math.round((width * p.step) / Math.max(1, p.totalSteps));
        stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${describe(p)}\x1b[K`);
        drawn = true;
        return;
      }
      const now = Date.now();
      if (now - lastLine < 5000 && p.step !== p.totalSteps) return;
      lastLine = now;
      stream.write(`${label}: ${describe(p)}\n`);
    },
    done() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}

/** Ctrl-C aborts the returned signal once (training stops at the next step boundary). */
export function cancelOnInterrupt(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onInterrupt = (): void => {
    process.stderr.write('\ncancelling at the next step boundary (checkpoints are kept: rerun the command to resume)\n');
    controller.abort();
  };
  process.once('SIGINT', onInterrupt);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onInterrupt) };
}
