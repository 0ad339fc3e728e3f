// The evaluator registers the `evaluation` job kind; a job naming a reward model in a
// process without a reward-model runtime fails at once (not retriable), naming the field.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobHandlers, type JobContext } from '../../../../src/platform/jobs/job-handlers.js';
import { Logger } from '../../../../src/platform/logging/logger.js';
import { EvaluationJobHandler, RewardScorerUnavailableError } from '../../../../src/services/evaluator/evaluation-job.handler.js';
import type { EvaluatorService } from '../../../../src/services/evaluator/evaluator.service.js';

describe('evaluation jobs', () => {
  it('registers the evaluation kind and refuses a reward model it cannot score with', async () => {
    const handlers = new JobHandlers();
    let evaluated = 0;
    const evaluator = { evaluate: async () => { evaluated++; throw new Error('not reached'); } } as unknown as EvaluatorService;
    const handler = new EvaluationJobHandler(handlers, evaluator, null);
    handler.onModuleInit();
    assert.deepEqual(handlers.kinds(), ['evaluation']);
    const ctx = {
      job: { id: 'j1', kind: 'evaluation', params: { candidate: 'c', suites: ['extrinsic'], rewardModelVersion: 'rm-1', seed: 0 }, idempotencyKey: null, maxAttempts: 3 },
      attempt: 1, signal: new AbortController().signal, checkpoint: { prefix: 'jobs/j1/' }, progress: async () => {}, log: new Logger('test'),
    } as unknown as JobContext<'evaluation'>;
    await assert.rejects(handlers.get('evaluation')!(ctx), (e: unknown) => e instanceof RewardScorerUnavailableError && e.retriable === false && /params\.rewardModelVersion/.test(e.message));
    assert.equal(evaluated, 0);
  });
});
