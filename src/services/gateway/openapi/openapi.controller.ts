// GET /openapi.json — public (no key: the document describes the API, it grants nothing).
import { Controller, Get } from '@nestjs/common';
import { openApiDocument } from './openapi.document.js';

@Controller()
export class OpenApiController {
  private readonly document = openApiDocument();

  @Get('openapi.json')
  get(): Record<string, unknown> {
    return this.document;
  }
}
