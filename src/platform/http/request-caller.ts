// Who made a request, as the gateway role's onRequest hook authenticated it
// (src/services/gateway/http/gateway-hooks.ts: API key, scope for the route, rate
// limit) — stored on the request before the body is read. It lives in the platform so
// that routes served by other roles (the loop's admin API) can refuse a request that no
// authentication ran for, without importing the gateway.
import { type CanActivate, type ExecutionContext, HttpException, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

const CALLER = Symbol('outerloop.caller');

type WithCaller = FastifyRequest & { [CALLER]?: object };

export function setRequestCaller(request: FastifyRequest, caller: object): void {
  (request as WithCaller)[CALLER] = caller;
}

/** The caller the authentication hook stored, or undefined when no hook authenticated this request. */
export function findRequestCaller<C extends object>(request: FastifyRequest): C | undefined {
  return (request as WithCaller)[CALLER] as C | undefined;
}

/**
 * Fails closed: a route behind this guard answers 401 unless the authentication hook
 * authenticated the request (with the scope its ROUTE_SCOPES entry names). A process
 * that serves such a route without the gateway role has no hook, so nothing gets in.
 */
@Injectable()
export class AuthenticatedRequestGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (findRequestCaller(request)) return true;
    throw new HttpException(
      {
        error: {
          message: 'this admin route needs API-key authentication, which the gateway role provides: run this process with the gateway role (embedded mode does) or reach it through one',
          type: 'authentication_error',
          param: null,
          code: 'authentication_unavailable',
        },
      },
      401,
    );
  }
}
