// Shared output of every benchmark: a human table, then one JSON line (the last line).
import { cpus, totalmem } from 'node:os';

export function machine(): Record<string, unknown> {
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
}

/** A titled table; on stdout unless `out` is given (a bench's detail can go to stderr, keeping stdout's last line the JSON). */
export function printTable(title: string, rows: Array<Record<string, string | number>>, out: NodeJS.WritableStream = process.stdout): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  const fmt = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(width[i]!)).join('  ');
  out.write(`\n${title}\n${line(cols)}\n${line(width.map((w) => '-'.repeat(w)))}\n`);
  for (const r of rows) out.write(line(cols.map((c) => fmt(r[c] ?? ''))) + '\n');
}

export function printResult(suite: string, figures: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ suite, ...figures, machine: machine(), at: new Date().toISOString() }) + '\n');
}
