// The outer loop as a durable state machine (one `loop_iterations` row per pass):
// each step of ARCHITECTURE §1 is a state, so a crash resumes where it stopped.

export const LOOP_STATES = [
  'snapshotting',
  'training-reward',
  'training-policy',
  'evaluating',
  'gating',
  'canary',
  'promoted',
  'rejected',
  'rolled-back',
  'failed',
] as const;
export type LoopState = (typeof LOOP_STATES)[number];

/** States an iteration never leaves. */
export const TERMINAL_LOOP_STATES: ReadonlySet<LoopState> = new Set(['promoted', 'rejected', 'rolled-back', 'failed']);

export interface LoopStateChange {
  state: LoopState;
  at: string; // ISO time
  detail?: string;
}
