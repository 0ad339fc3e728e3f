// The Node line is one decision: package.json `engines`, the image's base (deploy/
// Dockerfile), CI's and developers' Node 20, and every installed dependency agree.
// @nestjs/common 12.5 pins file-type 22 and light-my-request 6.8 wants cookie 2,
// both Node >= 22; package.json `overrides` pin the Node 20 majors (file-type 21,
// cookie 1), and the tests below run the code paths that use them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string }; overrides: Record<string, string> };
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[]; dev?: boolean }> };

type Version = [number, number, number];
const parse = (v: string): Version => {
  const [a = '0', b = '0', c = '0'] = v.replace(/^v/, '').split('.');
  return [a, b, c].map((x) => (x === 'x' || x === '*' ? 0 : Number.parseInt(x, 10))) as Version;
};
const cmp = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** The range forms package.json `engines` use: `>=a`, `^a`, `a.x`, `a.*`, `*`, `||`, space-separated AND, `>= a`. */
function satisfies(version: string, range: string): boolean {
  const v = parse(version);
  return range.split('||').some((alternative) =>
    alternative
      .trim()
      .replace(/(>=|<=|>|<|\^|~|=)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean)
      .every((comparator) => {
        const m = /^(>=|<=|>|<|\^|~|=)?(.*)$/.exec(comparator)!;
        const op = m[1] ?? '';
        const text = m[2]!;
        if (text === '*' || text === 'x') return true;
        const r = parse(text);
        const parts = text.split('.').filter((p) => p !== 'x' && p !== '*').length;
        switch (op) {
          case '>=': return cmp(v, r) >= 0;
          case '>': return cmp(v, r) > 0;
          case '<': return cmp(v, r) < 0;
          case '<=': return cmp(v, r) <= 0;
          case '^': return v[0] === r[0] && cmp(v, r) >= 0;
          case '~': return v[0] === r[0] && v[1] === r[1] && cmp(v, r) >= 0;
          default: // `20`, `20.x`, `20.19`, `=20.19.0`: equal on the given parts
            return v.slice(0, parts).every((x, i) => x === r[i]);
        }
      }),
  );
}

test('the range check reads the forms the lockfile uses', () => {
  assert.equal(satisfies('20.19.0', '>=22'), false);
  assert.equal(satisfies('20.19.0', '^20.19.0 || ^22.13.0 || >=24.11.0'), true);
  assert.equal(satisfies('20.18.0', '^20.19.0 || ^22.13.0'), false);
  assert.equal(satisfies('20.20.2', '20.x || 22.x'), true);
  assert.equal(satisfies('20.20.2', '>= 20'), true);
  assert.equal(satisfies('20.20.2', '6.* || 8.* || >= 10.*'), true);
  assert.equal(satisfies('20.20.2', '^20.12||^22||>=24'), true);
});

test('every package in the lockfile supports the lowest Node that package.json declares, and this Node', () => {
  const lowest = /^>=\s*(\d+\.\d+(?:\.\d+)?)$/.exec(pkg.engines.node)?.[1];
  assert.ok(lowest, `engines.node should be a lower bound, got ${pkg.engines.node}`);
  const offenders: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
    if (!path || !range) continue;
    for (const node of [lowest, process.version]) {
      if (!satisfies(node, range)) offenders.push(`${path.replace(/^.*node_modules\//, '')}@${entry.version} needs node ${range} (not ${node})`);
    }
  }
  assert.deepEqual(offenders, []);
  assert.ok(satisfies(process.version, pkg.engines.node), `this Node ${process.version} is outside engines ${pkg.engines.node}`);
});

test("the image's Node base is inside engines", () => {
  const dockerfile = readFileSync(join(root, 'deploy/Dockerfile'), 'utf8');
  const image = /^ARG NODE_IMAGE=node:(\d+\.\d+)-/m.exec(dockerfile)?.[1];
  assert.ok(image, 'deploy/Dockerfile pins ARG NODE_IMAGE=node:<major.minor>-…');
  assert.ok(satisfies(`${image}.0`, pkg.engines.node), `node:${image} is outside engines ${pkg.engines.node}`);
  assert.equal(image.split('.')[0], process.version.slice(1).split('.')[0], 'CI runs the same Node major as the image');
});

test("@nestjs/common's FileTypeValidator detects a PNG with the overridden file-type 21", async () => {
  assert.equal(pkg.overrides['file-type']?.split('.')[0], '21');
  const { FileTypeValidator } = await import('@nestjs/common');
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a2b7c5d30000000049454e44ae426082', 'hex');
  const validator = new FileTypeValidator({ fileType: 'image/png' });
  assert.equal(await validator.isValid({ mimetype: 'image/png', buffer: png } as never), true);
  assert.equal(await new FileTypeValidator({ fileType: 'image/jpeg' }).isValid({ mimetype: 'image/jpeg', buffer: png } as never), false);
});

test("fastify's inject sends cookies through light-my-request with the overridden cookie 1", async () => {
  assert.equal(pkg.overrides.cookie?.split('.')[0], '1');
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  app.get('/echo', async (request) => ({ cookie: request.headers.cookie ?? null }));
  try {
    const response = await app.inject({ method: 'GET', url: '/echo', cookies: { session: 'a b', theme: 'dark' } });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { cookie: 'session=a%20b; theme=dark' });
  } finally {
    await app.close();
  }
});

test(".npmrc makes npm hand onnxruntime-node's install script the skip flag (npm 10 has no allowScripts)", () => {
  const npmrc = readFileSync(join(root, '.npmrc'), 'utf8');
  assert.match(npmrc, /^onnxruntime-node-install=skip$/m);
  // npm exports project config as npm_config_* to lifecycle scripts; `npm run env` prints that environment
  const env = { ...process.env };
  delete env.ONNXRUNTIME_NODE_INSTALL;
  for (const k of Object.keys(env)) if (k.toLowerCase().startsWith('npm_config_')) delete env[k];
  const r = spawnSync('npm', ['run', 'env'], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^npm_config_onnxruntime_node_install=skip$/m);
  // and the script reads that variable as "skip"
  const require = createRequire(join(root, 'package.json'));
  const utils = require(join(root, 'node_modules/onnxruntime-node/script/install-utils.js')) as { parseInstallFlag(): unknown };
  const saved = process.env.npm_config_onnxruntime_node_install;
  const savedDirect = process.env.ONNXRUNTIME_NODE_INSTALL;
  delete process.env.ONNXRUNTIME_NODE_INSTALL;
  process.env.npm_config_onnxruntime_node_install = 'skip';
  try {
    assert.equal(utils.parseInstallFlag(), false);
  } finally {
    if (saved === undefined) delete process.env.npm_config_onnxruntime_node_install;
    else process.env.npm_config_onnxruntime_node_install = saved;
    if (savedDirect !== undefined) process.env.ONNXRUNTIME_NODE_INSTALL = savedDirect;
  }
});
