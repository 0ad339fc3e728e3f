// What every gateway request goes through before its body is read (Fastify's
// onRequest and preParsing hooks, which run ahead of body parsing):
//  1. open mode on a loopback address accepts only loopback Host names: a web page
//     the user visits could otherwise reach the unauthenticated API by DNS rebinding
//     (its own name re-pointed at 127.0.0.1), as Jupyter and Vite also refuse;
//  2. a compressed body is a 415 — we do not inflate request bodies, and "not valid
//     JSON" would send the client looking for the wrong mistake;
//  3. authentication, scope and rate limit — so an unauthenticated 8 MB body is
//     refused with 401 without being read (40 of them at once took RSS from 282 to
//     499 MB when auth ran in the handler), and OpenAI's x-ratelimit-* headers go on
//     every response of a limited key, streams included;
//  4. chat's own body limit, far below the process-wide one (feedback batches).
import { Transform, type TransformCallback } from 'node:stream';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Scope } from '../auth/api-keys.js';
import { AuthService, rateLimitHeaders } from '../auth/auth.service.js';
import { setCaller } from '../auth/request-caller.js';
import { GatewayError } from '../errors.js';
import { GATEWAY_OPTIONS, type GatewayOptions } from '../gateway.options.js';
import { sendGatewayError } from '../openai-error.filter.js';

/** The scope each authenticated route needs, by Fastify route pattern. */
export const ROUTE_SCOPES: Readonly<Record<string, Scope>> = {
  'POST /v1/chat/completions': 'chat',
  'GET /v1/models': 'chat',
  'GET /v1/models/:id': 'chat',
  'POST /v1/feedback': 'feedback',
  'POST /v1/feedback/batch': 'feedback',
  'GET /v1/admin/evaluations/:id/report': 'admin',
  'GET /v1/admin/evaluations/:id/charts': 'admin',
  'GET /v1/admin/evaluations/:id/charts/:name.svg': 'admin',
  // the loop's admin API (src/services/orchestrator/loop.controller.ts)
  'GET /v1/admin/loop/iterations': 'admin',
  'GET /v1/admin/loop/iterations/:id': 'admin',
  'POST /v1/admin/loop/iterations': 'admin',
  'POST /v1/admin/loop/pause': 'admin',
  'POST /v1/admin/loop/resume': 'admin',
  'POST /v1/admin/loop/iterations/:id/approve': 'admin',
  'POST /v1/admin/loop/iterations/:id/reject': 'admin',
  'POST /v1/admin/loop/iterations/:id/rollback': 'admin',
  'POST /v1/admin/loop/pin': 'admin',
  'GET /v1/admin/loop/lineage/models/:id': 'admin',
  'GET /v1/admin/loop/lineage/feedback/:id': 'admin',
  'GET /v1/admin/loop/canary': 'admin',
  'POST /v1/admin/loop/canary/flagger/:hook': 'admin',
  // the model registry's admin API (src/services/gateway/admin/models.controller.ts)
  'GET /v1/admin/models': 'admin',
  'POST /v1/admin/models': 'admin',
  'POST /v1/admin/models/:version/promote': 'admin',
  // the operator views' reads (the web console)
  'GET /v1/admin/gate-decisions': 'admin',
  'GET /v1/admin/deployment-overview': 'admin',
  // jobs (src/services/gateway/admin/jobs-admin.controller.ts)
  'POST /v1/admin/jobs': 'admin',
  'GET /v1/admin/jobs/:id': 'admin',
  'POST /v1/admin/jobs/:id/cancel': 'admin',
};

/**
 * Chat request bodies: a context of 4,096 tokens at ≤ 8 bytes a token, ×6 for JSON's
 * worst-case escaping, fits with room to spare (the shipped policy's context is 256
 * tokens). A prompt that does not fit the model is refused by the engine anyway; this
 * only stops a client from making the server buffer megabytes to learn that.
 */
export const CHAT_BODY_LIMIT = 256 * 1024;
const CHAT_ROUTE = 'POST /v1/chat/completions';

/** localhost, *.localhost is not included (resolvers differ), 127.0.0.0/8 and [::1], with or without a port. */
export function isLoopbackHost(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return name.toLowerCase() === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError(413, 'invalid_request_error', `request body too large: chat requests are limited to ${limit} bytes`, null, 'request_too_large');
}

/** Counts the bytes of a body as Fastify reads it and fails the read past `limit`. */
class BodyLimit extends Transform {
  private seen = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) done(tooLarge(this.limit));
    else done(null, chunk);
  }
}

@Injectable()
export class GatewayHooks implements OnModuleInit {
  constructor(
    @Inject(HttpAdapterHost) private readonly host: HttpAdapterHost,
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(GATEWAY_OPTIONS) private readonly options: GatewayOptions,
  ) {}

  onModuleInit(): void {
    const app = this.host.httpAdapter.getInstance<FastifyInstance>();
    app.addHook('onRequest', async (request, reply) => {
      try {
        await this.onRequest(request, reply);
      } catch (err) {
        // Refused before the body was read: close the connection after the answer rather
        // than let Node read (and discard) a body nobody wants — up to 8 MB per request.
        if (request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined) void reply.header('connection', 'close');
        sendGatewayError(reply, err);
        return reply;
      }
    });
    app.addHook('preParsing', async (request, _reply, payload) => {
      if (routeKey(request) !== CHAT_ROUTE) return payload;
      const declared = Number(request.headers['content-length']);
      if (declared > CHAT_BODY_LIMIT) throw tooLarge(CHAT_BODY_LIMIT);
      return payload.pipe(new BodyLimit(CHAT_BODY_LIMIT));
    });
  }

  private async onRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (this.options.loopbackHostsOnly) {
      const host = request.headers.host;
      if (host !== undefined && !isLoopbackHost(host)) {
        throw new GatewayError(403, 'permission_error', `Host '${host}' is not allowed: this gateway runs without API keys on a loopback address and answers only to localhost names`, null, 'host_not_allowed');
      }
    }
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
      throw new GatewayError(415, 'invalid_request_error', `Content-Encoding '${encoding}' is not supported; send an uncompressed application/json body`, null, 'unsupported_content_encoding');
    }
    const scope = ROUTE_SCOPES[routeKey(request)];
    if (!scope) return;
    const caller = await this.auth.authorize(request.headers, scope);
    // raw headers: they reach both Fastify's replies and the SSE stream's writeHead
    if (caller.rate) for (const [k, v] of Object.entries(rateLimitHeaders(caller.rate))) reply.raw.setHeader(k, v);
    setCaller(request, caller);
  }
}

function routeKey(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? ''}`;
}
