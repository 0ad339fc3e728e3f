// A small argv parser: `--name value`, `--name=value`, `--flag`, positionals.
// Unknown flags are errors that name the flag, like bad configuration.

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseArgs(argv: string[]): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
      else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) flags.set(a.slice(2), argv[++i]!);
      else flags.set(a.slice(2), true);
    } else positionals.push(a);
  }
  return { positionals, flags };
}

export function takeFlags(args: ParsedArgs, allowed: readonly string[]): Record<string, string | true | undefined> {
  const out: Record<string, string | true | undefined> = {};
  for (const [k, v] of args.flags) {
    if (!allowed.includes(k)) throw new UsageError(`unknown option --${k} (allowed: ${allowed.map((a) => '--' + a).join(', ') || 'none'})`);
    out[k] = v;
  }
  return out;
}

export function numberFlag(v: string | true | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v === true || !Number.isFinite(n)) throw new UsageError(`--${name} needs a number, got ${JSON.stringify(v)}`);
  return n;
}

export function stringFlag(v: string | true | undefined, name: string, fallback?: string): string | undefined {
  if (v === undefined) return fallback;
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}
