// The orchestrator's Prometheus metrics (docs/monitoring.md): where the loop is, how
// it moved, how long each state took, how iterations ended, and the canary's live
// analysis — both arms' guard figures and each sequential test's likelihood ratio
// against its boundary 1/α.
//
// The current iteration's state is read from loop_iterations at scrape time, so every
// orchestrator process (the lease holder and its stand-bys) reports the same truth and
// the stuck-iteration alert keeps firing while the driving process is dead. Counters
// and the time-in-state histogram count what this process did; sum them across
// instances. Labels are bounded: states, triggers, outcomes, arms, tests — never an
// iteration or model id (those are in loop_iterations and deployments).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LOOP_STATES, LOOP_STEPS, LOOP_TRIGGERS, TERMINAL_LOOP_STATE_NAMES, isTerminalLoopState, type LoopIterationRecord, type LoopState } from '../../domain/loop.js';
import type { CanaryObservation, CanaryVerdict, GuardMetrics } from '../../evaluation/canary/canary-verdict.js';
import { metric } from '../../platform/metrics/metrics.js';

export interface LoopMetricsSettings {
  /** the newest iteration (null before the first) */
  latest: () => Promise<LoopIterationRecord | null>;
  /** a non-terminal state held longer than this is stuck (canary: its time limit plus this) */
  stuckAfterSeconds: number;
  canaryTimeLimitSeconds: number;
  canaryWeight: number;
  canaryAlpha: number;
}

/** Every transition the state machine makes (src/domain/loop.ts): steps in order, the gates' rejections, the canary's ends, a rollback after promotion, failures, pauses and resumes. */
const LOOP_TRANSITIONS: ReadonlyArray<readonly [LoopState, LoopState]> = [
  ...LOOP_STEPS.slice(0, -1).map((step, i) => [step, LOOP_STEPS[i + 1]!] as const),
  ['rm_gate', 'rejected'],
  ['gate', 'rejected'],
  ['canary', 'promoted'],
  ['canary', 'rolled_back'],
  ['promoted', 'rolled_back'],
  ...LOOP_STEPS.flatMap((step) => [[step, 'failed'], [step, 'paused'], ['paused', step]] as const),
];

const ARMS = ['canary', 'production'] as const;
const TESTS = ['thumbs', 'pairwise'] as const;

export class LoopMetrics {
  private readonly transitions: Counter<'from' | 'to'>;
  private readonly started: Counter<'trigger'>;
  private readonly finished: Counter<'outcome'>;
  private readonly stateSeconds: Histogram<'state'>;
  private readonly thumbsUp: Gauge<'arm'>;
  private readonly observations: Gauge<'arm'>;
  private readonly winRate: Gauge<'arm'>;
  private readonly likelihoodRatio: Gauge<'test'>;
  private readonly errorRatio: Gauge<'arm'>;
  private readonly p99Latency: Gauge<'arm'>;
  private readonly refusalRatio: Gauge<'arm'>;

  constructor(registry: Registry, settings: LoopMetricsSettings) {
    const r = [registry];
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], collect?: (g: Gauge<L>) => Promise<void>) =>
      metric(registry, name, () => new Gauge<L>({ name, help, labelNames, registers: r, ...(collect ? { async collect(this: Gauge<L>) { await collect(this); } } : {}) }));

    // one read of the newest iteration per scrape, shared by the three gauges below
    let read: { at: number; it: Promise<LoopIterationRecord | null> } | null = null;
    const latest = () => {
      if (!read || Date.now() - read.at > 1000) read = { at: Date.now(), it: settings.latest() };
      return read.it;
    };
    gauge('outerloop_loop_iteration_state', 'the newest loop iteration\'s state: 1 on it, 0 on the others (none before the first iteration)', ['state'] as const, async (g) => {
      const it = await latest();
      g.reset();
      if (it) for (const state of LOOP_STATES) g.set({ state }, state === it.state ? 1 : 0);
    });
    // labelled by state (a gauge without labels reads 0 when unset, and these must be absent)
    gauge('outerloop_loop_state_entered_timestamp_seconds', 'when the newest iteration entered its current state (Unix time)', ['state'] as const, async (g) => {
      const it = await latest();
      g.reset();
      const entered = it?.stateHistory.at(-1)?.at;
      if (it && entered) g.set({ state: it.state }, new Date(entered).getTime() / 1000);
    });
    gauge('outerloop_loop_stuck_after_seconds', 'how long the newest iteration may stay in its current state before it counts as stuck (absent in a terminal or paused state): OUTERLOOP_LOOP_STUCK_AFTER_S, plus the canary time limit in canary', ['state'] as const, async (g) => {
      const it = await latest();
      g.reset();
      if (!it || isTerminalLoopState(it.state) || it.state === 'paused') return;
      g.set({ state: it.state }, settings.stuckAfterSeconds + (it.state === 'canary' ? settings.canaryTimeLimitSeconds : 0));
    });

    this.transitions = metric(registry, 'outerloop_loop_transitions_total', () =>
      new Counter({ name: 'outerloop_loop_transitions_total', help: 'loop state transitions this process committed, by state left and entered', labelNames: ['from', 'to'] as const, registers: r }),
    );
    this.started = metric(registry, 'outerloop_loop_iterations_started_total', () =>
      new Counter({ name: 'outerloop_loop_iterations_started_total', help: 'loop iterations started by this process, by trigger (cron, data, manual)', labelNames: ['trigger'] as const, registers: r }),
    );
    this.finished = metric(registry, 'outerloop_loop_iterations_finished_total', () =>
      new Counter({ name: 'outerloop_loop_iterations_finished_total', help: 'loop iterations this process ended, by outcome (promoted, rolled_back, rejected, failed)', labelNames: ['outcome'] as const, registers: r }),
    );
    this.stateSeconds = metric(registry, 'outerloop_loop_state_duration_seconds', () =>
      new Histogram({
        name: 'outerloop_loop_state_duration_seconds',
        help: 'time an iteration spent in a state, observed when it left it',
        labelNames: ['state'] as const,
        buckets: [1, 10, 60, 300, 900, 1800, 3600, 7200, 21_600, 86_400],
        registers: r,
      }),
    );
    // series start at zero, so increase() sees the first rollback, start, transition and
    // time in a state (a series born at 1 shows no increase)
    for (const outcome of TERMINAL_LOOP_STATE_NAMES) this.finished.inc({ outcome }, 0);
    for (const trigger of LOOP_TRIGGERS) this.started.inc({ trigger }, 0);
    for (const [from, to] of LOOP_TRANSITIONS) this.transitions.inc({ from, to }, 0);
    for (const state of LOOP_STATES) this.stateSeconds.zero({ state });

    gauge('outerloop_canary_traffic_share', 'share of chat traffic routed to the canary (0 with no canary running)', [] as const, async (g) => {
      const it = await latest();
      g.set(it?.state === 'canary' ? settings.canaryWeight : 0);
    });
    gauge('outerloop_canary_likelihood_ratio_boundary', 'the sequential test\'s decision boundary 1/α: a likelihood ratio at or above it decides the canary', [] as const, async (g) => {
      g.set(1 / settings.canaryAlpha);
    });
    this.thumbsUp = gauge('outerloop_canary_thumbs_up_ratio', 'thumbs-up share of each arm\'s rated answers since the canary started (latest look)', ['arm'] as const);
    this.observations = gauge('outerloop_canary_thumbs', 'thumbs received by each arm since the canary started (latest look)', ['arm'] as const);
    this.winRate = gauge('outerloop_canary_pairwise_win_ratio', 'the canary\'s win rate in pairwise votes against production, ties counting half (latest look; arm="canary")', ['arm'] as const);
    this.likelihoodRatio = gauge('outerloop_canary_likelihood_ratio', 'the mSPRT mixture likelihood ratio of each test (thumbs, pairwise) at the latest look; the canary is decided at 1/α', ['test'] as const);
    this.errorRatio = gauge('outerloop_canary_error_ratio', 'share of each arm\'s chat requests answered with a 5xx since the canary started (guard; absent when not measured)', ['arm'] as const);
    this.p99Latency = gauge('outerloop_canary_p99_latency_seconds', 'p99 of each arm\'s answer latency since the canary started (guard; absent below the minimum number of answers)', ['arm'] as const);
    this.refusalRatio = gauge('outerloop_canary_benign_refusal_ratio', 'share of each arm\'s answers to benign prompts that refuse, since the canary started (guard)', ['arm'] as const);
  }

  /** An iteration started (trigger) or moved from `from` into its current state. */
  transitioned(it: LoopIterationRecord, from: LoopState | null): void {
    const [previous, current] = it.stateHistory.slice(-2);
    if (from === null) {
      this.started.inc({ trigger: it.trigger });
      return;
    }
    if (from === it.state) return; // a step recorded without changing state (a gate waiting for review)
    this.transitions.inc({ from, to: it.state });
    if (previous && current) this.stateSeconds.observe({ state: from }, Math.max(0, (Date.parse(current.at) - Date.parse(previous.at)) / 1000));
    if ((TERMINAL_LOOP_STATE_NAMES as readonly string[]).includes(it.state)) this.finished.inc({ outcome: it.state });
    if (from === 'canary') this.clearCanary();
  }

  /** One look of the canary analysis. */
  canaryLooked(obs: CanaryObservation, verdict: CanaryVerdict): void {
    for (const arm of ARMS) {
      const t = obs.thumbs[arm];
      this.observations.set({ arm }, t.n);
      if (t.n > 0) this.thumbsUp.set({ arm }, t.up / t.n);
      this.setGuards(arm, arm === 'canary' ? obs.guards : obs.productionGuards);
    }
    const votes = obs.pairwise.canaryWins + obs.pairwise.productionWins + obs.pairwise.ties;
    if (votes > 0) this.winRate.set({ arm: 'canary' }, (obs.pairwise.canaryWins + obs.pairwise.ties / 2) / votes);
    for (const test of TESTS) this.likelihoodRatio.set({ test }, verdict[test].likelihoodRatio);
  }

  private setGuards(arm: (typeof ARMS)[number], guards: GuardMetrics | undefined): void {
    const set = (g: Gauge<'arm'>, value: number | null | undefined) => (value == null ? g.remove({ arm }) : g.set({ arm }, value));
    set(this.errorRatio, guards?.errorRate);
    set(this.p99Latency, guards?.p99LatencyMs == null ? null : guards.p99LatencyMs / 1000);
    set(this.refusalRatio, guards?.benignRefusalRate);
  }

  private clearCanary(): void {
    for (const g of [this.thumbsUp, this.observations, this.errorRatio, this.p99Latency, this.refusalRatio, this.winRate, this.likelihoodRatio]) g.reset();
  }
}
