// The HTTP server's own limits, shared by `outerloop start` (src/main.ts) and the
// tests that boot the gateway, so a test exercises the timeouts a deployment has.
//
// Without them a client that sends headers and never finishes its body holds a
// connection open forever (Node's requestTimeout is 0 under Fastify), before any
// authentication ran. Errors the server raises before a route exists — 408 for a
// request that did not arrive in time, 431 for oversized headers, 400 for bytes
// that are not HTTP — are written in OpenAI's error shape like every other error,
// so a client's SDK maps them the same way.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Server } from 'node:http';
import type { FastifyHttpOptions } from 'fastify';
import type { OpenAIErrorBody } from '../errors.js';

export interface HttpServerLimits {
  /** the whole request — headers and body — must arrive within this (408 otherwise) */
  requestTimeoutMs: number;
  /** the headers must arrive within this (≤ requestTimeoutMs) */
  headersTimeoutMs: number;
  /**
   * An idle socket is closed after this. Above the chat deadline: a request waiting
   * for a generation slot writes nothing until its first token.
   */
  connectionTimeoutMs: number;
  /** largest request body of any route (feedback batches); chat has its own, smaller limit */
  bodyLimit: number;
  /** how often Node checks requests against the timeouts (its default, 30 s, would let one overrun by that much) */
  timeoutCheckIntervalMs: number;
}

export const DEFAULT_HTTP_LIMITS: Omit<HttpServerLimits, 'connectionTimeoutMs'> = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 15_000,
  bodyLimit: 8 * 1024 * 1024,
  timeoutCheckIntervalMs: 1_000,
};

/** The server's answer to a request it could not even route, in OpenAI's shape with a stable code. */
function clientErrorResponse(err: NodeJS.ErrnoException): { status: number; body: OpenAIErrorBody } {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, body: { error: { message: 'the request was not received in time', type: 'invalid_request_error', param: null, code: 'request_timeout' } } };
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, body: { error: { message: 'the request headers are too large', type: 'invalid_request_error', param: null, code: 'headers_too_large' } } };
  }
  return { status: 400, body: { error: { message: 'malformed HTTP request', type: 'invalid_request_error', param: null, code: 'malformed_request' } } };
}

/** Fastify's clientErrorHandler: as its default, but in OpenAI's error shape. */
export function openAIClientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  // a reset connection has nobody to answer (https://nodejs.org/api/http.html#event-clienterror)
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, body } = clientErrorResponse(err);
  const json = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
    );
  }
  socket.destroy(err);
}

/** Fastify options for the process's HTTP server, given the chat deadline. */
export function httpServerOptions(o: { deadlineMs: number } & Partial<HttpServerLimits>): FastifyHttpOptions<Server> {
  const limits: HttpServerLimits = { ...DEFAULT_HTTP_LIMITS, connectionTimeoutMs: o.deadlineMs + 30_000, ...o };
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) limits.headersTimeoutMs = limits.requestTimeoutMs;
  return {
    bodyLimit: limits.bodyLimit,
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.connectionTimeoutMs,
    http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: limits.timeoutCheckIntervalMs },
    clientErrorHandler: openAIClientErrorHandler,
    return503OnClosing: true,
  };
}
