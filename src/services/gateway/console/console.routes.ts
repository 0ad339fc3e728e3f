// GET /console: the web console, as static files from memory (page, style sheet and
// the compiled script), with a strict Content-Security-Policy, ETag revalidation and
// gzip. The page itself is public — it holds no data; every call it makes to the API
// carries the user's key and meets the same scope checks as any client.
import { Injectable, Inject, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fileURLToPath } from 'node:url';
import { loadStaticAssets, staticAsset, type StaticAsset } from '../../../platform/web-assets/static-assets.js';
import { CONSOLE_CSP, CONSOLE_CSS, CONSOLE_HTML } from './console.page.js';

/** tsc -p tsconfig.console.json writes the script here (dist/console/), beside dist/src/. */
const SCRIPT_DIR = fileURLToPath(new URL('../../../../console/', import.meta.url));

export function consoleAssets(scriptDir = SCRIPT_DIR): Map<string, StaticAsset> {
  const assets = loadStaticAssets(scriptDir);
  if (!assets.has('app.js')) throw new Error(`the web console's script is missing from ${scriptDir} (npm run build compiles it)`);
  assets.set('index.html', staticAsset('index.html', CONSOLE_HTML));
  assets.set('app.css', staticAsset('app.css', CONSOLE_CSS));
  return assets;
}

export function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: StaticAsset): FastifyReply {
  reply
    .header('content-type', asset.contentType)
    .header('etag', asset.etag)
    // unhashed names: the browser may keep a copy but revalidates it (a 304 costs one round trip)
    .header('cache-control', 'no-cache')
    .header('vary', 'accept-encoding')
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer');
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').send(asset.gzip);
  return reply.send(asset.body);
}

@Injectable()
export class ConsoleRoutes implements OnModuleInit {
  constructor(@Inject(HttpAdapterHost) private readonly host: HttpAdapterHost) {}

  onModuleInit(): void {
    const assets = consoleAssets();
    const app = this.host.httpAdapter.getInstance<FastifyInstance>();
    const page = assets.get('index.html')!;
    app.get('/console', (request, reply) => sendAsset(request, reply, page));
    app.get('/console/', (request, reply) => sendAsset(request, reply, page));
    app.get<{ Params: { file: string } }>('/console/:file', (request, reply) => {
      const asset = request.params.file === 'index.html' ? undefined : assets.get(request.params.file);
      if (!asset) return reply.code(404).header('content-type', 'text/plain; charset=utf-8').send('not found');
      return sendAsset(request, reply, asset);
    });
  }
}
