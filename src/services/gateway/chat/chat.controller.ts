// HTTP routes of the chat use case. Thin by design: authentication ran in the
// onRequest hook (http/gateway-hooks.ts), errors leave through OpenAIErrorFilter, and
// everything else is ChatService's.
import { Controller, Get, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { callerOf } from '../auth/request-caller.js';
import { HttpChatReply } from './chat-http-reply.js';
import type { ModelList, ModelObject } from '../openapi/response.schemas.js';
import { ChatService } from './chat.service.js';

@Controller('v1')
export class ChatController {
  constructor(@Inject(ChatService) private readonly chat: ChatService) {}

  @Get('models')
  models(): ModelList {
    return this.chat.listModels();
  }

  @Get('models/:id')
  model(@Param('id') id: string): ModelObject {
    return this.chat.retrieveModel(id);
  }

  @Post('chat/completions')
  create(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.chat.run(request.body, callerOf(request), new HttpChatReply(reply));
  }
}
