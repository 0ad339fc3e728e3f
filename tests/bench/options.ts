// What several benchmarks need besides their output (table.ts): numeric flags, a
// percentile of sorted samples, and the test services' connection info.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `--name <value>`: a positive number (an integer when `integer`), else `fallback` when absent. */
export function positiveOption(args: string[], name: string, fallback: number, integer = false): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!(integer ? Number.isInteger(v) : Number.isFinite(v)) || v <= 0) throw new Error(`--${name} needs a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(args[i + 1])}`);
  return v;
}

/** Every `--name <value>` given, in order (a flag may repeat); an error when one has no value. */
export function stringOptions(args: string[], name: string): string[] {
  const out: string[] = [];
  args.forEach((a, i) => {
    if (a !== `--${name}`) return;
    const v = args[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
    out.push(v);
  });
  return out;
}

/** The p-th percentile (0–100) of ascending samples; NaN when there are none. */
export function percentileOfSorted(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** tests/infra/.env (written by `bash tests/infra/up.sh`) */
export const INFRA_ENV_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'tests', 'infra', '.env');

/** Copy tests/infra/.env into process.env for the variables that are not set; false if the file is absent. */
export function loadInfraEnv(): boolean {
  if (!existsSync(INFRA_ENV_FILE)) return false;
  for (const line of readFileSync(INFRA_ENV_FILE, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m && !process.env[m[1]!]) process.env[m[1]!] = m[2]!;
  }
  return true;
}
