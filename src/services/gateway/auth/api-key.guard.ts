// Nest wiring of AuthService: `@RequireScope('feedback') @UseGuards(ApiKeyGuard)`
// on a controller or route; the handler reads the caller with callerOf(request).
import { type CanActivate, type ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import type { Scope } from './api-keys.js';
import { AuthService, type Caller } from './auth.service.js';

const SCOPE_KEY = 'outerloop:required-scope';
const CALLER = Symbol('outerloop.caller');

/** The scope a route needs. */
export const RequireScope = (scope: Scope) => SetMetadata(SCOPE_KEY, scope);

type WithCaller = FastifyRequest & { [CALLER]?: Caller };

/** The caller the guard authenticated for this request. */
export function callerOf(request: FastifyRequest): Caller {
  const c = (request as WithCaller)[CALLER];
  if (!c) throw new Error('callerOf: no caller on this request — is the route guarded by ApiKeyGuard with @RequireScope?');
  return c;
}

/**
 * The helper form, for code that is not a guarded route: authenticate the request
 * for `scope` (401/403/429 as GatewayError) and remember the caller on it.
 */
export async function requireScope(auth: AuthService, request: FastifyRequest, scope: Scope): Promise<Caller> {
  const existing = (request as WithCaller)[CALLER];
  if (existing && (existing.apiKeyId === null || existing.scopes.includes(scope))) return existing;
  const caller = await auth.authorize(request.headers, scope);
  (request as WithCaller)[CALLER] = caller;
  return caller;
}

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(AuthService) private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const scope = this.reflector.getAllAndOverride<Scope | undefined>(SCOPE_KEY, [context.getHandler(), context.getClass()]);
    if (!scope) throw new Error(`ApiKeyGuard on ${context.getClass().name}.${context.getHandler().name} without @RequireScope`);
    await requireScope(this.auth, context.switchToHttp().getRequest<FastifyRequest>(), scope);
    return true;
  }
}
