// `npm run bench -- <suite> [args]`: runs tests/bench/<suite>.bench.ts. Each suite
// prints a human table, then one JSON object as its last line. Benchmarks assert
// nothing about time; they measure and report.
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const suites = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .map((f) => f.slice(0, -'.bench.js'.length))
  .sort();

const [suite, ...args] = process.argv.slice(2);
if (!suite || !suites.includes(suite)) {
  process.stderr.write(`usage: npm run bench -- <suite> [args]\nsuites: ${suites.join(', ')}\n`);
  process.exit(suite ? 64 : 0);
}
const mod = (await import(`./${suite}.bench.js`)) as { run(args: string[]): Promise<void> };
await mod.run(args);
process.exit(0);
