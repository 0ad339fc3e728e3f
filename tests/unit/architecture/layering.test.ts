// The layering rules of docs/architecture.md, enforced by dependency-cruiser
// (.dependency-cruiser.cjs) on the real source tree — and each rule shown to fire on a
// planted violation, so that a rule whose layer has no files yet cannot pass vacuously.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const DEPCRUISE = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const LAYER = /^src\/(domain|engine|rlhf|evaluation|scenario|platform|services|config|cli)\/|^src\/main\.ts$/;
const PURE = ['domain', 'engine', 'rlhf', 'evaluation', 'scenario'];

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}
interface CruiseResult {
  modules: { source: string; coreModule?: boolean; dependencyTypes?: string[] }[];
  summary: { violations: Violation[] };
}

/** Runs the depcruise CLI with the repository's configuration in `cwd` (a tree with src/). */
function cruise(cwd: string): CruiseResult {
  const r = spawnSync(process.execPath, [DEPCRUISE, 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (!r.stdout) throw new Error(`depcruise produced no output (status ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as CruiseResult;
}

function* tsFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

/** `process.env` is not an import, so dependency-cruiser cannot see it: the pure layers take configuration as parameters. */
function processEnvReaders(srcRoot: string): string[] {
  const out: string[] = [];
  for (const layer of PURE) {
    let files: string[] = [];
    try {
      files = [...tsFiles(join(srcRoot, layer))];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // checked by the depcruise rules once files exist
      throw e;
    }
    for (const f of files) if (/\bprocess\.env\b/.test(readFileSync(f, 'utf8').replace(/\/\/.*$/gm, ''))) out.push(relative(srcRoot, f));
  }
  return out;
}

test('the source tree follows every layering rule', () => {
  const result = cruise(root);
  const lines = result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
  assert.deepEqual(lines, []);
  assert.ok(result.modules.length > 100, `cruised only ${result.modules.length} modules`);
});

test('every source file belongs to a layer (no file hides outside the rules)', () => {
  const misplaced = [...tsFiles(join(root, 'src'))].map((f) => relative(root, f).split('\\').join('/')).filter((f) => !LAYER.test(f));
  assert.deepEqual(misplaced, []);
});

test('the pure layers do not read process.env', () => {
  assert.deepEqual(processEnvReaders(join(root, 'src')), []);
});

test('each rule fires on a planted violation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'layering-'));
  try {
    for (const f of ['.dependency-cruiser.cjs', 'tsconfig.json', 'package.json']) copyFileSync(join(root, f), join(dir, f));
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const files: Record<string, string> = {
      // targets that are allowed to exist
      'src/platform/target.ts': 'export const x = 1;\n',
      'src/services/gateway/target.ts': 'export const x = 1;\n',
      'src/rlhf/target.ts': 'export const x = 1;\n',
      'src/engine/target.ts': 'export const x = 1;\n',
      // planted violations, one per rule
      'src/rlhf/imports-platform.ts': "export { x } from '../platform/target.js';\n",
      'src/evaluation/imports-nest.ts': "export { Injectable } from '@nestjs/common';\n",
      'src/engine/imports-rlhf.ts': "export { x } from '../rlhf/target.js';\n",
      'src/domain/imports-engine.ts': "export { x } from '../engine/target.js';\n",
      'src/platform/imports-service.ts': "export { x } from '../services/gateway/target.js';\n",
      'src/services/trainer/imports-gateway.ts': "export { x } from '../gateway/target.js';\n",
      'src/scenario/cycle-a.ts': "import { b } from './cycle-b.js';\nexport const a = () => b;\n",
      'src/scenario/cycle-b.ts': "import { a } from './cycle-a.js';\nexport const b = () => a;\n",
      'src/services/gateway/writes-files.ts': "export { readFileSync } from 'node:fs';\n",
      'src/config/imports-nothing-real.ts': "export { y } from './does-not-exist.js';\n",
      'src/misplaced/outside-layers.ts': "export { x } from '../engine/target.js';\n",
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const fired = new Map<string, Set<string>>();
    for (const v of cruise(dir).summary.violations) {
      if (!fired.has(v.from)) fired.set(v.from, new Set());
      fired.get(v.from)!.add(v.rule.name);
    }
    const expect: [string, string][] = [
      ['src/rlhf/imports-platform.ts', 'pure-layer-imports-edge-code'],
      ['src/evaluation/imports-nest.ts', 'pure-layer-imports-framework'],
      ['src/engine/imports-rlhf.ts', 'engine-knows-no-algorithm'],
      ['src/domain/imports-engine.ts', 'domain-imports-only-domain'],
      ['src/platform/imports-service.ts', 'platform-imports-no-service'],
      ['src/services/trainer/imports-gateway.ts', 'service-imports-another-service'],
      ['src/scenario/cycle-a.ts', 'no-cycles'],
      ['src/services/gateway/writes-files.ts', 'file-system-only-in-io-adapters'],
      ['src/config/imports-nothing-real.ts', 'not-to-unresolvable'],
      ['src/misplaced/outside-layers.ts', 'not-in-allowed'],
    ];
    for (const [file, rule] of expect) {
      assert.ok(fired.get(file)?.has(rule), `${rule} did not fire for ${file}; fired: ${JSON.stringify([...fired].map(([f, r]) => [f, [...r]]))}`);
    }
    // the allowed targets themselves are clean
    for (const clean of ['src/platform/target.ts', 'src/rlhf/target.ts', 'src/engine/target.ts']) assert.equal(fired.get(clean), undefined, clean);
    // process.env in a pure layer is caught by the text check
    writeFileSync(join(dir, 'src/rlhf/reads-env.ts'), 'export const t = process.env.X;\n');
    assert.deepEqual(processEnvReaders(join(dir, 'src')), ['rlhf/reads-env.ts']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
