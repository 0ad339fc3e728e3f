// A misspelt OUTERLOOP_* variable is named, with the variable it most likely meant.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unknownVariables } from '../../../src/config/config.js';

test('unknown OUTERLOOP_* variables are found with the closest known name; the test suite’s own are not', () => {
  assert.deepEqual(
    unknownVariables({ OUTERLOOP_PROT: '1', OUTERLOOP_GATEWAY_MAX_CONCURENT: '8', OUTERLOOP_BANANA: 'x', OUTERLOOP_PORT: '1', OUTERLOOP_TEST_DATABASE_URL: 'p', PATH: '/bin' }),
    [
      { name: 'OUTERLOOP_BANANA', closest: null },
      { name: 'OUTERLOOP_GATEWAY_MAX_CONCURENT', closest: 'OUTERLOOP_GATEWAY_MAX_CONCURRENT' },
      { name: 'OUTERLOOP_PROT', closest: 'OUTERLOOP_PORT' },
    ],
  );
  assert.deepEqual(unknownVariables({ OUTERLOOP_MODE: 'embedded' }), []);
});
