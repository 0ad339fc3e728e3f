// HTTP framing of the chat use case: JSON or server-sent events. The logic lives
// in ChatService; this file maps it onto Fastify's reply (raw writes for SSE).
import { Controller, Get, Inject, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requireScope } from '../auth/api-key.guard.js';
import { AuthService } from '../auth/auth.service.js';
import { GatewayError } from '../errors.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { sendGatewayError } from '../openai-error.filter.js';
import { parseChatCompletionRequest } from './chat-request.schema.js';
import { ChunkWriter, chatCompletionBody } from './chat-response.js';
import { ChatService, RequestAbortedError, type ChatPlan, type ServiceSettings } from './chat.service.js';

export const CHAT_SETTINGS = Symbol('CHAT_SETTINGS');
const ROUTE = '/v1/chat/completions';

/** Aborts on client disconnect or deadline, whichever comes first; reason says which. */
function requestSignal(request: FastifyRequest, reply: FastifyReply, deadlineMs: number) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(new RequestAbortedError('deadline')), deadlineMs);
  // Disconnect = the response's 'close' before it finished. Not the request's
  // 'close': since Node 16 an IncomingMessage auto-destroys (and emits 'close') as
  // soon as its body was read, which would cancel every request at once.
  const onClose = () => {
    if (!reply.raw.writableFinished && !ctrl.signal.aborted) ctrl.abort(new RequestAbortedError('client-disconnect'));
  };
  reply.raw.on('close', onClose);
  return {
    signal: ctrl.signal,
    dispose: () => {
      clearTimeout(timer);
      reply.raw.off('close', onClose);
    },
  };
}

function versionHeaders(plan: ChatPlan): Record<string, string> {
  return {
    'x-outerloop-model-version': [...new Set(plan.choices.map((c) => c.version))].join(','),
    'x-outerloop-completion-id': plan.choices.map((c) => c.completionId).join(','),
  };
}

// Errors leave through OpenAIErrorFilter (registered globally by GatewayModule for /v1/ paths).
@Controller('v1')
export class ChatController {
  constructor(
    @Inject(ChatService) private readonly chat: ChatService,
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(GatewayMetrics) private readonly metrics: GatewayMetrics,
    @Inject(CHAT_SETTINGS) private readonly settings: ServiceSettings,
  ) {}

  @Get('models')
  async models(@Req() request: FastifyRequest): Promise<unknown> {
    await requireScope(this.auth, request, 'chat');
    return this.chat.listModels();
  }

  @Post('chat/completions')
  async create(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    let plan: ChatPlan | null = null;
    const { signal, dispose } = requestSignal(request, reply, this.settings.deadlineMs);
    try {
      const caller = await requireScope(this.auth, request, 'chat');
      plan = this.chat.plan(parseChatCompletionRequest(request.body), caller);
      const release = await this.chat.admit(plan, signal);
      try {
        if (plan.stream) await this.stream(plan, reply, signal);
        else {
          const outcomes = await this.chat.execute(plan, signal);
          void reply.status(200).headers(versionHeaders(plan)).send(chatCompletionBody(plan, outcomes));
        }
      } finally {
        release();
      }
      this.count(200, plan);
    } catch (err) {
      this.fail(reply, plan, err);
    } finally {
      dispose();
    }
  }

  private async stream(plan: ChatPlan, reply: FastifyReply, signal: AbortSignal): Promise<void> {
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // nginx: do not buffer the stream
      ...versionHeaders(plan),
    });
    const write = (data: string) => {
      if (!reply.raw.writableEnded && !reply.raw.destroyed) reply.raw.write(data);
    };
    const writer = new ChunkWriter(plan, write);
    const outcomes = await this.chat.execute(plan, signal, {
      onStart: (c) => writer.start(c),
      onDelta: (c, text, tokens) => writer.delta(c, text, tokens),
      onFinish: (o) => writer.finish(o),
    });
    if (plan.includeUsage) writer.usage(outcomes);
    writer.done();
    reply.raw.end();
  }

  private fail(reply: FastifyReply, plan: ChatPlan | null, err: unknown): void {
    if (err instanceof RequestAbortedError) {
      if (err.stopCause === 'client-disconnect') {
        // Nobody is listening; 499 (nginx's "client closed request") for the metrics only.
        this.count(499, plan);
        if (!reply.raw.writableEnded) reply.raw.destroy();
        return;
      }
      err = GatewayError.unavailable('the request could not be served before its deadline; the server is busy', 1, 'deadline_exceeded');
    }
    const status = err instanceof GatewayError ? err.status : 500;
    this.count(status, plan);
    sendGatewayError(reply, err);
  }

  private count(status: number, plan: ChatPlan | null): void {
    this.metrics.requests.inc({ route: ROUTE, status: String(status), model_version: plan?.choices[0]?.version ?? 'none' });
  }
}
