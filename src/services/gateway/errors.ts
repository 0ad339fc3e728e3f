// OpenAI's error object, so existing clients (the official SDKs, LangChain…)
// map our failures onto their own exception types: { error: { message, type, param, code } }.
// https://platform.openai.com/docs/guides/error-codes — the SDKs branch on the HTTP
// status (400, 401, 403, 404, 409, 422, 429, >=500), so the status matters most.

export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'service_unavailable';

export interface OpenAIErrorBody {
  error: { message: string; type: OpenAIErrorType; param: string | null; code: string | null };
}

export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly type: OpenAIErrorType,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** seconds; sent as Retry-After on 429/503 */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'GatewayError';
  }

  /** Whether the same request may succeed later (429, 503, 5xx). */
  get retriable(): boolean {
    return this.status === 429 || this.status >= 500;
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  static invalid(param: string | null, message: string, code: string | null = null): GatewayError {
    return new GatewayError(400, 'invalid_request_error', message, param, code);
  }
  static unauthenticated(message: string): GatewayError {
    return new GatewayError(401, 'authentication_error', message, null, 'invalid_api_key');
  }
  static forbidden(message: string): GatewayError {
    return new GatewayError(403, 'permission_error', message, null, 'insufficient_scope');
  }
  static modelNotFound(model: string): GatewayError {
    return new GatewayError(404, 'invalid_request_error', `The model '${model}' does not exist or is not served here`, 'model', 'model_not_found');
  }
  static rateLimited(message: string, retryAfterSeconds: number, code = 'rate_limit_exceeded'): GatewayError {
    return new GatewayError(429, 'rate_limit_error', message, null, code, retryAfterSeconds);
  }
  static unavailable(message: string, retryAfterSeconds = 1, code = 'service_unavailable'): GatewayError {
    return new GatewayError(503, 'service_unavailable', message, null, code, retryAfterSeconds);
  }
}

/** Maps anything thrown to a GatewayError; unknown errors become a 500 without leaking internals. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const e = err as { statusCode?: number; code?: string; message?: string };
  // Fastify's own errors (body too large, malformed JSON, wrong content type) carry statusCode + FST_ code.
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    if (e.statusCode === 413) {
      return new GatewayError(413, 'invalid_request_error', e.message ?? 'request body too large', null, 'request_too_large');
    }
    return new GatewayError(e.statusCode, 'invalid_request_error', e.message ?? 'invalid request', null, e.code ?? null);
  }
  return new GatewayError(500, 'server_error', 'internal error while serving the request', null, 'internal_error');
}
