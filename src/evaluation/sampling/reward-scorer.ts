// What the evaluator asks of a reward model (the RM work implements it over its batched
// scoring runtime): the proxy reward of each response and, for an ensemble, each
// member's score. A judge RM (trained only on held-out pairs) implements the same
// interface; the evaluator then turns its scores of candidate vs incumbent on the same
// prompt and seed into a preference.

export interface RewardScoringRow {
  /** the conversation as the suite's prompt set holds it (role: system | user | assistant) */
  messages: readonly { role: string; content: string }[];
  response: string;
}

export interface RewardScores {
  /** the proxy reward of each row (the ensemble's objective when there are members) */
  rewards: Float64Array | number[];
  /** members × rows, when the RM is an ensemble */
  members?: (Float64Array | number[])[];
}

export interface RewardScorer {
  /** a stable name for reports, e.g. the RM's model version id */
  readonly id: string;
  score(rows: readonly RewardScoringRow[]): Promise<RewardScores>;
}
