// POST /v1/feedback and /v1/feedback/batch as plain Fastify routes. Feedback is the
// gateway's highest-rate request (every thumb, rating and edit of every user), and its
// work is small: authenticate, validate, look the completion up, publish, answer 202.
// Nest's per-request pipeline (router execution context, guard and filter resolution)
// was a visible share of that, so these two routes skip it: authentication ran in the
// gateway's onRequest hook (http/gateway-hooks.ts) as for every route, errors get the
// same OpenAI shape as OpenAIErrorFilter gives (sendGatewayError, also for body-parser
// errors such as malformed JSON), and the per-route HTTP metrics come from a Fastify hook.
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { callerOf } from '../auth/request-caller.js';
import { sendGatewayError } from '../openai-error.filter.js';
import type { Caller } from './feedback.request.js';
import { FeedbackService, type FeedbackAccepted } from './feedback.service.js';

@Injectable()
export class FeedbackRoutes implements OnModuleInit {
  constructor(
    @Inject(HttpAdapterHost) private readonly host: HttpAdapterHost,
    @Inject(FeedbackService) private readonly feedback: FeedbackService,
  ) {}

  onModuleInit(): void {
    const app = this.host.httpAdapter.getInstance<FastifyInstance>();
    const errorHandler = (err: unknown, _request: FastifyRequest, reply: FastifyReply): void => sendGatewayError(reply, err);
    /** One event: `{ completion_id, type, value, other_completion_id?, edited_response?, comment?, event_id?, user? }` */
    app.post('/v1/feedback', { errorHandler }, (request, reply) => this.handle(request, reply, (caller) => this.feedback.submit(caller, request.body)));
    /** Up to 1,000 events, all-or-nothing: `{ events: [ …same objects… ] }` (or the bare array) */
    app.post('/v1/feedback/batch', { errorHandler }, (request, reply) => this.handle(request, reply, (caller) => this.feedback.submitBatch(caller, request.body)));
  }

  private async handle(request: FastifyRequest, reply: FastifyReply, accept: (caller: Caller) => Promise<FeedbackAccepted>): Promise<void> {
    try {
      const key = callerOf(request);
      const accepted = await accept({ apiKeyId: key.apiKeyId, userId: null });
      await reply.code(202).send(accepted);
    } catch (err) {
      sendGatewayError(reply, err);
    }
  }
}
