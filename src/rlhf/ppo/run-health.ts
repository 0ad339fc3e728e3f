// Dead-run detectors: the ways an RLHF run dies silently while its loss curve looks
// alive. Each finding names the step and what was seen; a detector that fires on more
// consecutive steps than its limit stops the run with that reason. Limits are per
// detector, because a single zero-variance batch is noise while ten in a row is a dead
// reward signal.

export interface StepHealthInput {
  step: number;
  /** RM scores of the batch's responses. */
  scores: ArrayLike<number>;
  /** Generated tokens per response. */
  responseLengths: ArrayLike<number>;
  /** Whether each response ended with EOS (false: cut at max tokens). */
  endedWithEos: ArrayLike<boolean>;
  /** Global gradient norm before clipping, per optimizer step of this rollout batch. */
  gradNorms: ArrayLike<number>;
  /** Mean per-token entropy of the policy on the batch (nats). */
  entropy: number;
}

export type DetectorName = 'zero_reward_variance' | 'all_truncated' | 'bad_grad_norm' | 'runaway_length' | 'entropy_collapse';

export interface RunHealthOptions {
  /** Consecutive steps a detector may fire before the run stops (per detector). */
  limits: Record<DetectorName, number>;
  /** Scores whose standard deviation is below this count as constant. */
  minScoreStd: number;
  /** Mean response length above this multiple of the first step's mean is runaway. */
  maxLengthGrowth: number;
  /** Entropy below this fraction of the first step's entropy is a collapse. */
  minEntropyFraction: number;
}

export const DEFAULT_RUN_HEALTH: RunHealthOptions = {
  limits: { zero_reward_variance: 5, all_truncated: 3, bad_grad_norm: 1, runaway_length: 5, entropy_collapse: 5 },
  minScoreStd: 1e-6,
  maxLengthGrowth: 3,
  minEntropyFraction: 0.1,
};

export interface HealthFinding {
  step: number;
  detector: DetectorName;
  detail: string;
  /** How many steps in a row this detector has fired. */
  streak: number;
}

export interface HealthVerdict {
  findings: HealthFinding[];
  /** Set when a detector passed its limit: the run must stop with this reason. */
  stop: string | null;
}

/** Mean; 0 for no values (a batch statistic, not an estimate). */
export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return xs.length ? s / xs.length : 0;
}

/** Sample standard deviation; 0 below two values. */
export function std(xs: ArrayLike<number>): number {
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i]! - m) ** 2;
  return xs.length > 1 ? Math.sqrt(s / (xs.length - 1)) : 0;
}

/** What a checkpoint keeps so a resumed run's detectors carry on where they were. */
export interface RunHealthState {
  streaks: [DetectorName, number][];
  baselineLength: number | null;
  baselineEntropy: number | null;
}

export class RunHealth {
  private readonly streaks = new Map<DetectorName, number>();
  private baselineLength: number | null = null;
  private baselineEntropy: number | null = null;

  constructor(private readonly opts: RunHealthOptions = DEFAULT_RUN_HEALTH) {}

  state(): RunHealthState {
    return { streaks: [...this.streaks], baselineLength: this.baselineLength, baselineEntropy: this.baselineEntropy };
  }

  restore(s: RunHealthState): void {
    this.streaks.clear();
    for (const [k, v] of s.streaks) this.streaks.set(k, v);
    this.baselineLength = s.baselineLength;
    this.baselineEntropy = s.baselineEntropy;
  }

  check(s: StepHealthInput): HealthVerdict {
    if (this.baselineLength === null) this.baselineLength = mean(s.responseLengths);
    if (this.baselineEntropy === null) this.baselineEntropy = s.entropy;
    const fired = new Map<DetectorName, string>();

    const scoreStd = std(s.scores);
    if (s.scores.length > 1 && scoreStd < this.opts.minScoreStd) fired.set('zero_reward_variance', `RM score std ${scoreStd.toExponential(2)} over ${s.scores.length} responses: no learning signal`);
    let eos = 0;
    for (let i = 0; i < s.endedWithEos.length; i++) if (s.endedWithEos[i]) eos++;
    if (s.endedWithEos.length > 0 && eos === 0) fired.set('all_truncated', `all ${s.endedWithEos.length} responses hit max tokens without EOS`);
    for (let i = 0; i < s.gradNorms.length; i++) {
      const g = s.gradNorms[i]!;
      if (!Number.isFinite(g) || g === 0) {
        fired.set('bad_grad_norm', `gradient norm ${g} at optimizer step ${i + 1} of this batch`);
        break;
      }
    }
    const len = mean(s.responseLengths);
    if (this.baselineLength > 0 && len > this.opts.maxLengthGrowth * this.baselineLength) {
      fired.set('runaway_length', `mean response length ${len.toFixed(1)} tokens is over ${this.opts.maxLengthGrowth}× the first step's ${this.baselineLength.toFixed(1)}`);
    }
    if (this.baselineEntropy > 0 && s.entropy < this.opts.minEntropyFraction * this.baselineEntropy) {
      fired.set('entropy_collapse', `entropy ${s.entropy.toFixed(4)} nats is under ${this.opts.minEntropyFraction} of the first step's ${this.baselineEntropy.toFixed(4)}`);
    }

    const findings: HealthFinding[] = [];
    let stop: string | null = null;
    for (const name of Object.keys(this.opts.limits) as DetectorName[]) {
      const detail = fired.get(name);
      if (detail === undefined) {
        this.streaks.set(name, 0);
        continue;
      }
      const streak = (this.streaks.get(name) ?? 0) + 1;
      this.streaks.set(name, streak);
      findings.push({ step: s.step, detector: name, detail, streak });
      if (stop === null && streak >= this.opts.limits[name]) stop = `${name} at step ${s.step} (${streak} in a row, limit ${this.opts.limits[name]}): ${detail}`;
    }
    return { findings, stop };
  }
}
