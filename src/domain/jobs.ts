// The vocabulary of durable jobs (ARCHITECTURE §3 "jobs are database rows, not
// messages"): which kinds of work exist and the states a job moves through. Pure:
// the schemas of each kind's parameters live with the other wire contracts in
// src/platform/messaging/events.ts; the row in src/platform/persistence.

/** Training jobs (the trainer role) and evaluation jobs (the evaluator role). */
export const JOB_KINDS = ['reward_model', 'ppo', 'dpo', 'rejection_sampling', 'best_of_n', 'evaluation'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/**
 * queued → running → succeeded | failed | cancelled. A running job whose attempt
 * failed (or whose worker died) goes back to queued while attempts remain; a queued
 * job can be cancelled before it runs.
 */
export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const TERMINAL_JOB_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

export function isTerminalJobState(state: JobState): boolean {
  return TERMINAL_JOB_STATES.includes(state);
}

const TRANSITIONS: Record<JobState, readonly JobState[]> = {
  queued: ['running', 'cancelled'],
  // running → queued: the attempt failed or its lease lapsed, and attempts remain
  running: ['succeeded', 'failed', 'cancelled', 'queued'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isJobKind(value: string): value is JobKind {
  return (JOB_KINDS as readonly string[]).includes(value);
}
