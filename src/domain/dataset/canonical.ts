// Canonical JSON and hashing: the basis of content addressing. The same value always
// serializes to the same bytes (object keys sorted, no whitespace, -0 as 0), so a
// snapshot built twice from the same pairs has the same id and the same files.
import { createHash } from 'node:crypto';

export class CanonicalJsonError extends Error {
  readonly retriable = false;
  constructor(path: string, reason: string) {
    super(`canonical JSON at ${path || '(root)'}: ${reason}`);
    this.name = 'CanonicalJsonError';
  }
}

/** JSON with object keys sorted (code-unit order), arrays in order; `undefined`
 *  object members are dropped as JSON.stringify does. Non-finite numbers, bigints,
 *  functions and class instances other than Date are rejected rather than guessed at. */
export function canonicalJson(value: unknown): string {
  return write(value, '');
}

function write(v: unknown, path: string): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw new CanonicalJsonError(path, `non-finite number ${v}`);
      return Object.is(v, -0) ? '0' : JSON.stringify(v);
    case 'object': {
      if (v instanceof Date) return JSON.stringify(v.toISOString());
      if (Array.isArray(v)) return `[${v.map((x, i) => write(x === undefined ? null : x, `${path}[${i}]`)).join(',')}]`;
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) throw new CanonicalJsonError(path, `unsupported object type ${proto?.constructor?.name ?? '?'}`);
      const keys = Object.keys(v as object).sort();
      const parts: string[] = [];
      for (const k of keys) {
        const x = (v as Record<string, unknown>)[k];
        if (x === undefined) continue;
        parts.push(`${JSON.stringify(k)}:${write(x, path ? `${path}.${k}` : k)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new CanonicalJsonError(path, `unsupported type ${typeof v}`);
  }
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 of the canonical JSON of a value */
export function contentHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/** A uniform number in [0, 1) from a string, stable across runs and machines: the
 *  first 52 bits of sha256. Used for the train/held-out split. */
export function hashToUnitInterval(s: string): number {
  const hex = sha256Hex(s).slice(0, 13); // 52 bits: exactly representable in a double
  return parseInt(hex, 16) / 2 ** 52;
}
