// The vocabulary of durable jobs (ARCHITECTURE §3 "jobs are database rows, not
// messages"): which kinds of work exist, the states a job moves through, and the job
// as stored. Pure: the schemas of each kind's parameters live with the other wire
// contracts in src/platform/messaging/events.ts; the row in src/platform/persistence.
import type { JsonObject } from './json.js';

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

/** A job as stored: the `jobs` row is the job (docs/jobs.md). */
export interface JobRecord {
  id: string;
  kind: JobKind;
  /** the kind's parameters, validated on enqueue, defaults applied */
  params: JsonObject;
  /** e.g. `<iteration>:<step>`: enqueueing the same key again returns this job */
  idempotencyKey: string | null;
  state: JobState;
  /** claims so far; while running, the number of the current attempt */
  attempts: number;
  maxAttempts: number;
  /** not claimed before this instant (retry backoff) */
  runAfter: Date;
  leaseOwner: string | null;
  heartbeatAt: Date | null;
  leaseExpiresAt: Date | null;
  /** the last progress report (step, total, loss, metrics, tokensPerSecond, etaSeconds) */
  progress: JsonObject | null;
  result: JsonObject | null;
  /** the last failed attempt's error; kept on record when a later attempt succeeds */
  error: string | null;
  cancelRequested: boolean;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}
