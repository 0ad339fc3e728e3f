// The caller of a request, as the gateway's onRequest hook (http/gateway-hooks.ts)
// authenticated it — before the body was read. Route handlers read it here.
import type { FastifyRequest } from 'fastify';
import { findRequestCaller, setRequestCaller } from '../../../platform/http/request-caller.js';
import type { Caller } from './auth.service.js';

export function setCaller(request: FastifyRequest, caller: Caller): void {
  setRequestCaller(request, caller);
}

/** The caller the onRequest hook authenticated for this request. */
export function callerOf(request: FastifyRequest): Caller {
  const c = findRequestCaller<Caller>(request);
  if (!c) throw new Error(`callerOf: ${request.method} ${request.routeOptions.url ?? request.url} has no authenticated caller — add the route to ROUTE_SCOPES (http/gateway-hooks.ts)`);
  return c;
}
