// What users tell us about completions, and the preferences derived from it.

export const FEEDBACK_TYPES = ['thumbs', 'rating', 'pairwise', 'edit'] as const;
/** thumbs ±1, rating 1..5, pairwise 1|-1|0 (this completion | the other | tie), edit (a rewritten response) */
export type FeedbackType = (typeof FEEDBACK_TYPES)[number];

/** Where a preference pair came from: one source per feedback type. */
export const PREFERENCE_SOURCES = ['pairwise', 'thumbs', 'edit', 'rating'] as const;
export type PreferenceSource = (typeof PREFERENCE_SOURCES)[number];

export interface FeedbackRecord {
  id: string;
  completionId: string;
  type: FeedbackType;
  value: number | null;
  /** pairwise only: the other completion shown */
  otherCompletionId: string | null;
  editedResponse: string | null;
  comment: string | null;
  userId: string | null;
  apiKeyId: string | null;
  createdAt: Date;
  ingestedAt: Date;
}

/** Why the spam defence flags a labeller (user_flags.reason). */
export const FLAG_REASON_MAJORITY_DISAGREEMENT = 'majority-disagreement';
