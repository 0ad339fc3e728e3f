// The outer loop as a durable state machine (one `loop_iterations` row per pass):
// each step of ARCHITECTURE §1 is a state, so a crash resumes where it stopped.
// Pure: which state follows which, what each step records, which admin actions are
// legal where, and the safety invariant (a model that failed a gate never gets
// traffic). The orchestrator (src/services/orchestrator) executes it.
import type { JsonObject } from './json.js';

/** The steps, in order; an iteration is in one of them while it runs. */
export const LOOP_STEPS = ['snapshot', 'train_rm', 'rm_gate', 'rl', 'evaluate', 'gate', 'canary'] as const;
export type LoopStep = (typeof LOOP_STEPS)[number];

export const TERMINAL_LOOP_STATE_NAMES = ['promoted', 'rolled_back', 'rejected', 'failed'] as const;
export type TerminalLoopState = (typeof TERMINAL_LOOP_STATE_NAMES)[number];

export const LOOP_STATES = [...LOOP_STEPS, ...TERMINAL_LOOP_STATE_NAMES, 'paused'] as const;
export type LoopState = (typeof LOOP_STATES)[number];

/** States an iteration never leaves. */
export const TERMINAL_LOOP_STATES: ReadonlySet<LoopState> = new Set<LoopState>(TERMINAL_LOOP_STATE_NAMES);

export function isLoopStep(state: string): state is LoopStep {
  return (LOOP_STEPS as readonly string[]).includes(state);
}

export function isTerminalLoopState(state: LoopState): boolean {
  return TERMINAL_LOOP_STATES.has(state);
}

export interface LoopStateChange {
  state: LoopState;
  at: string; // ISO time
  detail?: string;
}

/** What started an iteration. */
export const LOOP_TRIGGERS = ['cron', 'data', 'manual'] as const;
export type LoopTrigger = (typeof LOOP_TRIGGERS)[number];

/** One step's record: the job that ran it (if any), what went in and what came out. */
export interface LoopStepRecord {
  jobId?: string;
  inputs: JsonObject;
  outputs: JsonObject;
  finishedAt: string;
}

export type LoopSteps = Partial<Record<LoopStep, LoopStepRecord>>;

/** Gate verdicts as the `evaluation` job reports them (docs/orchestrator.md; the gate
 *  engine's verdicts, src/evaluation/gate). */
export const LOOP_GATE_VERDICTS = ['pass', 'fail', 'needs_review'] as const;
export type LoopGateVerdict = (typeof LOOP_GATE_VERDICTS)[number];

/** An operator's answer to a `needs_review` gate. */
export type ReviewAnswer = 'approved' | 'rejected';

/** One pass of the loop as stored. */
export interface LoopIterationRecord {
  id: string;
  state: LoopState;
  stateHistory: LoopStateChange[];
  trigger: LoopTrigger;
  steps: LoopSteps;
  /** while paused: the state to resume into */
  pausedFrom: LoopState | null;
  snapshotId: string | null;
  rewardModelId: string | null;
  candidateModelId: string | null;
  error: string | null;
  attempt: number;
  /** bumped by every write: writes are compare-and-set on it */
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The state a finished step leads to (pure; `outputs` is what the step recorded). */
export function nextLoopState(step: LoopStep, outputs: JsonObject): LoopState | 'await_review' {
  switch (step) {
    case 'snapshot':
      return 'train_rm';
    case 'train_rm':
      return 'rm_gate';
    case 'rm_gate':
      return outputs.passed === true ? 'rl' : 'rejected';
    case 'rl':
      return 'evaluate';
    case 'evaluate':
      return 'gate';
    case 'gate': {
      if (outputs.review === 'approved') return 'canary';
      if (outputs.review === 'rejected') return 'rejected';
      if (outputs.verdict === 'pass') return 'canary';
      if (outputs.verdict === 'needs_review') return 'await_review';
      return 'rejected';
    }
    case 'canary':
      return outputs.decision === 'promote' ? 'promoted' : 'rolled_back';
  }
}

/** The reward model passed its gate: held-out accuracy at least the bar, and the
 *  trainer's own RM quality gate (`qualityGate`, when it ran one) did not fail it — a
 *  failed RM is registered `rejected`, and PPO may not optimise against it. */
export function rewardModelGate(metrics: JsonObject, minHeldoutAccuracy: number): { passed: boolean; reason: string } {
  const accuracy = metrics.heldoutAccuracy;
  if (typeof accuracy !== 'number') return { passed: false, reason: 'the reward_model job reported no metrics.heldoutAccuracy' };
  const quality = typeof metrics.qualityGate === 'string' ? `; the trainer's RM quality gate: ${metrics.qualityGate}` : '';
  if (metrics.qualityGate === 'fail' || metrics.status === 'rejected') return { passed: false, reason: `held-out accuracy ${accuracy.toFixed(3)}${quality}; the RM is ${String(metrics.status ?? 'rejected')}` };
  const passed = accuracy >= minHeldoutAccuracy;
  return { passed, reason: `held-out accuracy ${accuracy.toFixed(3)} ${passed ? '≥' : '<'} ${minHeldoutAccuracy}${quality}` };
}

/**
 * The safety invariant (issue #12 item 6): a candidate may receive canary or
 * production traffic only if its iteration passed the RM gate and the promotion gate
 * (a pass, or a needs_review an operator approved). Asserted where deployments change.
 */
export function mayReceiveTraffic(iteration: Pick<LoopIterationRecord, 'steps'>): { allowed: boolean; reason: string } {
  const rm = iteration.steps.rm_gate?.outputs;
  if (rm?.passed !== true) return { allowed: false, reason: 'the reward model did not pass its gate' };
  const gate = iteration.steps.gate?.outputs;
  if (!gate) return { allowed: false, reason: 'the promotion gate has not decided' };
  if (gate.review === 'rejected') return { allowed: false, reason: 'an operator rejected the candidate' };
  if (gate.verdict === 'pass') return { allowed: true, reason: 'passed both gates' };
  // an operator may approve only what the gate could not decide, never a fail
  if (gate.verdict === 'needs_review' && gate.review === 'approved') return { allowed: true, reason: 'passed the RM gate; the promotion gate was approved on review' };
  return { allowed: false, reason: `the promotion gate said ${String(gate.verdict)}` };
}

export class SafetyInvariantViolation extends Error {
  readonly code = 'safety_invariant';
  readonly retriable = false;
  constructor(readonly iterationId: string, readonly modelId: string, reason: string) {
    super(`iteration ${iterationId}: model ${modelId} may not receive traffic: ${reason}`);
    this.name = 'SafetyInvariantViolation';
  }
}

export function assertMayReceiveTraffic(iteration: Pick<LoopIterationRecord, 'id' | 'steps'>, modelId: string): void {
  const verdict = mayReceiveTraffic(iteration);
  if (!verdict.allowed) throw new SafetyInvariantViolation(iteration.id, modelId, verdict.reason);
}

/** Admin actions on an iteration (docs/orchestrator.md). */
export const LOOP_ADMIN_ACTIONS = ['pause', 'resume', 'approve', 'reject', 'rollback'] as const;
export type LoopAdminAction = (typeof LOOP_ADMIN_ACTIONS)[number];

/** An admin action the iteration's state does not allow: HTTP 409, naming the state. */
export class IllegalLoopActionError extends Error {
  readonly code = 'illegal_loop_action';
  readonly retriable = false;
  constructor(readonly iterationId: string, readonly action: string, readonly state: LoopState, why: string) {
    super(`iteration ${iterationId} is ${state}: cannot ${action} (${why})`);
    this.name = 'IllegalLoopActionError';
  }
}

/** Why `action` is illegal for the iteration now, or null when it is legal. */
export function illegalActionReason(iteration: Pick<LoopIterationRecord, 'state' | 'steps'>, action: LoopAdminAction): string | null {
  const { state } = iteration;
  switch (action) {
    case 'pause':
      return isTerminalLoopState(state) ? 'it has finished' : state === 'paused' ? 'it is already paused' : null;
    case 'resume':
      return state === 'paused' ? null : 'only a paused iteration resumes';
    case 'approve':
    case 'reject': {
      const gate = iteration.steps.gate?.outputs;
      if (state !== 'gate' || gate?.verdict !== 'needs_review' || gate.review !== undefined) return 'it is not waiting for review';
      return null;
    }
    case 'rollback':
      return state === 'canary' || state === 'promoted' ? null : 'nothing of it is deployed (roll back a canary or a promoted iteration)';
  }
}

export function assertLegalAction(iteration: Pick<LoopIterationRecord, 'id' | 'state' | 'steps'>, action: LoopAdminAction): void {
  const why = illegalActionReason(iteration, action);
  if (why !== null) throw new IllegalLoopActionError(iteration.id, action, iteration.state, why);
}

/** The job key of a step (and of a second job in it, e.g. `train_rm:judge`): a resumed
 *  iteration enqueues the same key and gets the same job. */
export function stepJobKey(iterationId: string, step: LoopStep, part?: string): string {
  return part ? `${iterationId}:${step}:${part}` : `${iterationId}:${step}`;
}
