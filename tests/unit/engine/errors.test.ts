// Engine errors carry a stable `code` and `retriable` that callers branch on (the
// gateway maps codes to HTTP statuses) — also after crossing the engine thread's
// structured-clone boundary, where a class is rebuilt from its name and own fields.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ArtifactError, EngineError, GraphError, NonFiniteError, ShapeError, TokenRangeError } from '../../../src/engine/errors.js';
import { ContextLengthError, EngineClosedError, EngineRunError } from '../../../src/engine/runtime/batch-engine.js';
import { deserializeError, serializeError } from '../../../src/engine/runtime/engine-thread.js';
import { SamplingParamsError } from '../../../src/engine/sampling/index.js';

// every class a generate() call can reject with (engine-thread's ERROR_CLASSES); GraphError is build-time only
const cases: Array<[EngineError, string, boolean]> = [
  [new ShapeError('x', '(2, 3)', '(3, 2)'), 'shape_mismatch', false],
  [new TokenRangeError('prompt', 0, 9999, 1024), 'token_out_of_range', false],
  [new NonFiniteError('logits', 3, Number.NaN), 'non_finite', false],
  [new ArtifactError('bad manifest'), 'artifact_invalid', false],
  [new SamplingParamsError('topP', 'must be in (0, 1]'), 'invalid_sampling_params', false],
  [new ContextLengthError(300, 255), 'context_length_exceeded', false],
  [new EngineClosedError('closed'), 'engine_closed', true],
  [new EngineRunError('ORT failed'), 'engine_run_failed', true],
];

describe('engine error codes', () => {
  it('GraphError: code graph_invalid, not retriable', () => {
    const e = new GraphError('no gradient rule');
    assert.deepEqual([e.code, e.retriable], ['graph_invalid', false]);
  });

  for (const [error, code, retriable] of cases) {
    it(`${error.name}: code ${code}, retriable ${retriable}, kept across the thread boundary`, () => {
      assert.equal(error.code, code);
      assert.equal(error.retriable, retriable);
      const rebuilt = deserializeError(structuredClone(serializeError(error)));
      assert.ok(rebuilt instanceof EngineError);
      assert.equal((rebuilt as EngineError).code, code);
      assert.equal((rebuilt as EngineError).retriable, retriable);
      assert.equal(rebuilt.message, error.message);
    });
  }
});
