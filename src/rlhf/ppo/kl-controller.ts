// The KL coefficient β between rollouts. Adaptive: Ziegler et al. 2019 ("Fine-Tuning
// Language Models from Human Preferences", §2.2): e_t = clip(KL_t / KL_target − 1, −0.2, 0.2),
// β_{t+1} = β_t·(1 + K_β·e_t) with K_β = n_steps / horizon — the form TRL's
// AdaptiveKLController and OpenRLHF's use, where n_steps is the number of samples the
// observed KL was measured on.

export interface KlController {
  readonly value: number;
  /** Feeds the KL measured on the last rollout batch (nats per response) and its sample count. */
  update(observedKl: number, nSteps: number): number;
}

export class FixedKlController implements KlController {
  constructor(readonly value: number) {
    if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`KL coefficient must be a finite number ≥ 0, got ${value}`);
  }

  update(): number {
    return this.value;
  }
}

export class AdaptiveKlController implements KlController {
  private beta: number;

  constructor(
    initial: number,
    readonly target: number,
    readonly horizon: number,
  ) {
    if (!(initial > 0) || !Number.isFinite(initial)) throw new RangeError(`initial KL coefficient must be > 0, got ${initial}`);
    if (!(target > 0)) throw new RangeError(`target KL must be > 0, got ${target}`);
    if (!(horizon > 0)) throw new RangeError(`KL horizon must be > 0, got ${horizon}`);
    this.beta = initial;
  }

  get value(): number {
    return this.beta;
  }

  update(observedKl: number, nSteps: number): number {
    if (!Number.isFinite(observedKl)) throw new RangeError(`observed KL must be finite, got ${observedKl}`);
    const error = Math.min(0.2, Math.max(-0.2, observedKl / this.target - 1));
    this.beta *= 1 + (error * nSteps) / this.horizon;
    return this.beta;
  }

  /** For checkpoints: the controller's whole state is β. */
  restore(beta: number): void {
    this.beta = beta;
  }
}
