// The judge RM's data: the snapshot's held-out split only, itself split by prompt into
// judge-train (what the judge learns from) and judge-check (what its report is computed
// on). The policy-side RM never sees the held-out split, so the judge is independent of
// it; and its reported agreement with human labels is on pairs it did not train on.
// Deterministic: a prompt's side depends only on its hash and the salt, so every attempt
// (and every trainer) splits the same snapshot the same way.
import { hashToUnitInterval } from '../../domain/dataset/canonical.js';

/** The share of held-out prompts the judge trains on; the rest is its check set. */
export const JUDGE_TRAIN_FRACTION = 0.7;
export const JUDGE_SPLIT_SALT = 'outerloop-judge-split-v1';

export interface JudgeSplit<Row> {
  judgeTrain: Row[];
  judgeCheck: Row[];
}

/** Split held-out rows by prompt: every row of a prompt lands on the same side. */
export function judgeSplit<Row extends { promptHash: string }>(heldout: readonly Row[], trainFraction = JUDGE_TRAIN_FRACTION): JudgeSplit<Row> {
  if (!(trainFraction > 0 && trainFraction < 1)) throw new RangeError(`judge trainFraction: must be in (0, 1), got ${trainFraction}`);
  const judgeTrain: Row[] = [];
  const judgeCheck: Row[] = [];
  for (const row of heldout) (hashToUnitInterval(`${JUDGE_SPLIT_SALT}:${row.promptHash}`) < trainFraction ? judgeTrain : judgeCheck).push(row);
  return { judgeTrain, judgeCheck };
}
