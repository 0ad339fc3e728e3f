import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuthenticatedRequestGuard, findRequestCaller, setRequestCaller } from '../../../../src/platform/http/request-caller.js';

const contextOf = (request: object): ExecutionContext => ({ switchToHttp: () => ({ getRequest: () => request }) }) as unknown as ExecutionContext;

test('the admin guard fails closed: no authentication hook ran → 401 naming why; an authenticated caller passes', () => {
  const guard = new AuthenticatedRequestGuard();
  const bare = {} as FastifyRequest;
  assert.throws(
    () => guard.canActivate(contextOf(bare)),
    (e: unknown) => (e as { getStatus(): number }).getStatus() === 401 && /gateway role/.test(JSON.stringify((e as { getResponse(): unknown }).getResponse())),
  );
  const authenticated = {} as FastifyRequest;
  setRequestCaller(authenticated, { apiKeyId: 'k1' });
  assert.equal(guard.canActivate(contextOf(authenticated)), true);
  assert.deepEqual(findRequestCaller(authenticated), { apiKeyId: 'k1' });
});
