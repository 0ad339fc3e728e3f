// The pure layers (engine, rlhf, evaluation, scenario) must not reach the edges:
// no import of src/platform or src/services, no Nest, Kafka or TypeORM, no
// process.env. This is the dependency rule of ARCHITECTURE §8, enforced.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const PURE = ['engine', 'rlhf', 'evaluation', 'scenario'];
const FORBIDDEN_PACKAGES = [/^@nestjs\//, /^kafkajs$/, /^typeorm$/, /^pg$/, /^better-sqlite3$/, /^prom-client$/];
// The scenario's load generator is the one documented exception: it is an HTTP
// client (node:http / fetch), still free of platform and services.

function* tsFiles(dir: string): Generator<string> {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return; // a layer that does not exist yet has nothing to check
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

export function layeringViolations(srcRoot: string): string[] {
  const problems: string[] = [];
  for (const layer of PURE) {
    for (const file of tsFiles(join(srcRoot, layer))) {
      const text = readFileSync(file, 'utf8');
      const rel = relative(srcRoot, file);
      for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
        const spec = (m[1] ?? m[2])!;
        if (spec.startsWith('.')) {
          const target = relative(srcRoot, resolve(dirname(file), spec));
          if (/^(platform|services|config|cli)([/\\]|$)/.test(target) || target === 'main.js') {
            problems.push(`${rel} imports ${spec} (→ src/${target})`);
          }
        } else if (FORBIDDEN_PACKAGES.some((re) => re.test(spec))) {
          problems.push(`${rel} imports package ${spec}`);
        }
      }
      if (/\bprocess\.env\b/.test(text.replace(/\/\/.*$/gm, ''))) problems.push(`${rel} reads process.env`);
    }
  }
  return problems;
}

test('pure layers import nothing from platform, services, Nest, Kafka or TypeORM', () => {
  assert.deepEqual(layeringViolations(join(root, 'src')), []);
});

test('the check itself catches a violation', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const fake = mkdtempSync(join(tmpdir(), 'layering-'));
  mkdirSync(join(fake, 'engine'), { recursive: true });
  writeFileSync(join(fake, 'engine', 'bad.ts'), "import { x } from '../platform/messaging/events.js';\nimport { Module } from '@nestjs/common';\nconst a = process.env.X;\n");
  const v = layeringViolations(fake);
  assert.equal(v.length, 3, v.join('\n'));
});
