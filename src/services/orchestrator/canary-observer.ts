// What the canary analysis reads from the feedback table: thumbs on answers served by
// the canary and by production since the canary started, and pairwise votes from
// comparison mode. A pairwise event is stored on the completion it is about (value 1:
// this one won, -1: the other, 0: a tie); while a canary runs, comparison mode pits
// production against the canary, so a vote on a canary answer is a canary-vs-production
// vote and a vote on a production answer is the mirror image. Votes on any other model
// are ignored. Guard metrics are not in these rows: the observer reports them as not
// measured (null), and the verdict then rests on the sequential tests, the sample
// budget and the time limit.
import type { CanaryObservation } from '../../evaluation/canary/canary-verdict.js';
import type { IFeedbackRepository } from '../../platform/persistence/repositories/index.js';
import type { CanaryObserver } from './loop-runner.js';

export function feedbackCanaryObserver(feedback: Pick<IFeedbackRepository, 'findInWindow'>): CanaryObserver {
  return async ({ canaryModelId, productionModelId, since }) => {
    const obs: CanaryObservation = {
      thumbs: { production: { up: 0, n: 0 }, canary: { up: 0, n: 0 } },
      pairwise: { canaryWins: 0, productionWins: 0, ties: 0 },
      guards: { errorRate: null, p99LatencyMs: null, benignRefusalRate: null },
    };
    for (const e of await feedback.findInWindow(since, null)) {
      const arm = e.modelVersion === canaryModelId ? 'canary' : e.modelVersion === productionModelId ? 'production' : null;
      if (!arm || e.value === null) continue;
      if (e.type === 'thumbs') {
        obs.thumbs[arm].n += 1;
        if (e.value > 0) obs.thumbs[arm].up += 1;
      } else if (e.type === 'pairwise') {
        if (e.value === 0) obs.pairwise.ties += 1;
        else if ((e.value > 0) === (arm === 'canary')) obs.pairwise.canaryWins += 1;
        else obs.pairwise.productionWins += 1;
      }
    }
    return obs;
  };
}
