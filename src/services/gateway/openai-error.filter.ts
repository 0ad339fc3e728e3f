// Every error leaving a gateway route has OpenAI's shape and status, with
// Retry-After where retrying helps. Nest's own HttpExceptions (404 route, 405…)
// are mapped too, so a client never sees a different error format.
import { type ArgumentsHost, Catch, HttpException } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from '../../platform/logging/logger.js';
import { GatewayError, toGatewayError, type OpenAIErrorType } from './errors.js';

const log = new Logger('gateway.errors');

function fromHttpException(e: HttpException): GatewayError {
  // Nest wraps Fastify's own 4xx errors (body parsing, content type) with the original as
  // the cause: map the original, so chat and the plain-Fastify feedback routes agree.
  const cause = e.cause as { statusCode?: unknown } | undefined;
  if (typeof cause?.statusCode === 'number') return toGatewayError(cause);
  const status = e.getStatus();
  const type: OpenAIErrorType =
    status === 401 ? 'authentication_error' : status === 403 ? 'permission_error' : status === 404 ? 'not_found_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  const code = status === 413 ? 'request_too_large' : status === 404 ? 'not_found' : status === 405 ? 'method_not_allowed' : status >= 500 ? 'internal_error' : 'invalid_request';
  // A route that already answers in OpenAI's shape (`{ error: { message, code } }`, e.g.
  // the loop's 409 naming the state) keeps its own message and code.
  const own = (e.getResponse() as { error?: { message?: unknown; code?: unknown } } | string | undefined);
  if (typeof own === 'object' && own?.error && typeof own.error.message === 'string') {
    return new GatewayError(status, type, own.error.message, null, typeof own.error.code === 'string' ? own.error.code : code);
  }
  return new GatewayError(status, type, e.message, null, code);
}

export function sendGatewayError(reply: FastifyReply, err: unknown): void {
  const ge = err instanceof HttpException ? fromHttpException(err) : toGatewayError(err);
  if (ge.status >= 500 && !(err instanceof GatewayError)) log.error('unhandled error in gateway route', err);
  if (reply.raw.headersSent) {
    // A stream already started: the status is gone; end it with an error event so
    // the client does not wait for more (OpenAI streams do the same).
    if (!reply.raw.writableEnded) {
      reply.raw.write(`data: ${JSON.stringify(ge.toBody())}\n\n`);
      reply.raw.end();
    }
    return;
  }
  if (ge.retryAfterSeconds !== null) void reply.header('retry-after', String(ge.retryAfterSeconds));
  for (const [k, v] of Object.entries(ge.headers)) void reply.header(k, v);
  void reply.status(ge.status).header('content-type', 'application/json; charset=utf-8').send(ge.toBody());
}

/**
 * Registered globally (APP_FILTER) so that errors raised before a route handler
 * runs — malformed JSON, a body over the size limit — are also in OpenAI's shape
 * on the OpenAI-compatible paths (/v1/…). Other paths keep Nest's default format.
 */
@Catch()
export class OpenAIErrorFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return super.catch(exception, host);
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const url = request?.url ?? request?.raw?.url ?? '';
    if (!url.startsWith('/v1/')) return super.catch(exception, host);
    sendGatewayError(host.switchToHttp().getResponse<FastifyReply>(), exception);
  }
}
