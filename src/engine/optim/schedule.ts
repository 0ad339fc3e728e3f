// Learning-rate schedule: linear warm-up, then cosine decay to a floor (Loshchilov &
// Hutter 2017, SGDR, without restarts; the GPT-3 / nanoGPT recipe). Warm-up keeps Adam's
// first steps — when its second-moment estimate is still noisy — from taking full-size steps.

export interface CosineScheduleOptions {
  maxLr: number;
  /** Floor reached at totalSteps; default maxLr / 10. */
  minLr?: number;
  warmupSteps: number;
  totalSteps: number;
}

/** Learning rate for a 0-based `step`. */
export function cosineWithWarmup(step: number, opts: CosineScheduleOptions): number {
  const minLr = opts.minLr ?? opts.maxLr / 10;
  if (opts.warmupSteps > 0 && step < opts.warmupSteps) return (opts.maxLr * (step + 1)) / opts.warmupSteps;
  if (step >= opts.totalSteps) return minLr;
  const span = Math.max(1, opts.totalSteps - opts.warmupSteps);
  const progress = (step - opts.warmupSteps) / span; // in [0, 1)
  return minLr + 0.5 * (opts.maxLr - minLr) * (1 + Math.cos(Math.PI * progress));
}
