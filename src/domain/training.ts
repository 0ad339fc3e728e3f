// Training runs: what the trainer runs and where a run stands.

export const TRAINING_KINDS = ['sft', 'reward', 'ppo', 'dpo', 'best-of-n'] as const;
export type TrainingKind = (typeof TRAINING_KINDS)[number];

export const TRAINING_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type TrainingStatus = (typeof TRAINING_STATUSES)[number];
