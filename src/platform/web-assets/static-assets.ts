// Static files served from memory: read once at start, each with its gzip form and a
// strong ETag, so a request costs no disk read and no compression. Used by the web
// console (src/services/gateway/console); the folder is the build's output.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export interface StaticAsset {
  /** Path below the folder, with forward slashes: `app.js`. */
  path: string;
  contentType: string;
  body: Buffer;
  gzip: Buffer;
  /** Strong ETag over the content: `"sha256-…"`. */
  etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

export function staticAsset(path: string, body: Buffer | string): StaticAsset {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const ext = path.slice(path.lastIndexOf('.'));
  return {
    path,
    contentType: CONTENT_TYPES[ext] ?? 'application/octet-stream',
    body: buf,
    gzip: gzipSync(buf, { level: 9 }),
    etag: `"sha256-${createHash('sha256').update(buf).digest('base64url').slice(0, 27)}"`,
  };
}

/** Every file below `dir` whose extension is served (source maps and type files are not). */
export function loadStaticAssets(dir: string): Map<string, StaticAsset> {
  const out = new Map<string, StaticAsset>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (CONTENT_TYPES[name.slice(name.lastIndexOf('.'))]) {
        const rel = relative(dir, p).split('\\').join('/');
        out.set(rel, staticAsset(rel, readFileSync(p)));
      }
    }
  };
  walk(dir);
  return out;
}
