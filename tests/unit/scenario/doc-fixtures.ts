// Reads the tables of docs/scenario.md that double as test fixtures.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

function repoRoot(): string {
  // compiled to dist/tests/unit/scenario/ — four levels below the repository
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    try {
      readFileSync(path.join(dir, 'docs', 'scenario.md'));
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      dir = path.dirname(dir);
    }
  }
  throw new Error('docs/scenario.md not found above the test file');
}

/** Rows (cells trimmed) of the markdown table between `<!-- name:start -->` and `<!-- name:end -->`, header and rule removed. */
export function docTable(name: string): string[][] {
  const text = readFileSync(path.join(repoRoot(), 'docs', 'scenario.md'), 'utf8');
  const start = text.indexOf(`<!-- ${name}:start -->`);
  const end = text.indexOf(`<!-- ${name}:end -->`);
  if (start < 0 || end < start) throw new Error(`docs/scenario.md has no table "${name}"`);
  const lines = text.slice(start, end).split('\n').filter((l) => l.trim().startsWith('|'));
  return lines.slice(2).map((line) => line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim()));
}
