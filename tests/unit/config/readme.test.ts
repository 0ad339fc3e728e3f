// The README's configuration reference must list every variable the schema reads.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EnvSchema } from '../../../src/config/config.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

test('README documents every configuration variable', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const missing = Object.keys(EnvSchema.shape).filter((k) => !readme.includes('`' + k + '`'));
  assert.deepEqual(missing, []);
});
