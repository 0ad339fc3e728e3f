// Thin transport adapter: authenticate (feedback scope), hand the body to the
// service, answer 202 with the event ids. Errors leave in OpenAI's shape with
// Retry-After where retrying helps (OpenAIErrorFilter).
import { Body, Controller, HttpCode, Inject, Post, Req, UseFilters, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiKeyGuard, RequireScope, callerOf } from '../auth/api-key.guard.js';
import { OpenAIErrorFilter } from '../openai-error.filter.js';
import type { Caller } from './feedback.request.js';
import { FeedbackService, type FeedbackAccepted } from './feedback.service.js';

function feedbackCaller(request: FastifyRequest): Caller {
  return { apiKeyId: callerOf(request).apiKeyId, userId: null };
}

@Controller('v1/feedback')
@UseFilters(OpenAIErrorFilter)
@UseGuards(ApiKeyGuard)
@RequireScope('feedback')
export class FeedbackController {
  constructor(@Inject(FeedbackService) private readonly feedback: FeedbackService) {}

  /** One event: `{ completion_id, type, value, other_completion_id?, edited_response?, comment?, event_id?, user? }` */
  @Post()
  @HttpCode(202)
  submit(@Req() request: FastifyRequest, @Body() body: unknown): Promise<FeedbackAccepted> {
    return this.feedback.submit(feedbackCaller(request), body);
  }

  /** Up to 1,000 events, all-or-nothing: `{ events: [ …same objects… ] }` (or the bare array) */
  @Post('batch')
  @HttpCode(202)
  submitBatch(@Req() request: FastifyRequest, @Body() body: unknown): Promise<FeedbackAccepted> {
    return this.feedback.submitBatch(feedbackCaller(request), body);
  }
}
