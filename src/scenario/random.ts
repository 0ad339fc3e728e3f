// The random source every scenario component draws from. The shape is the engine's
// `Rng` (`next()` uniform in [0, 1), `normal()` standard normal), so the engine's class
// can be passed wherever a `RandomSource` is expected; `ScenarioRng` is a seeded
// implementation of the same shape so the scenario does not depend on engine internals.

export interface RandomSource {
  /** uniform in [0, 1) */
  next(): number;
  /** standard normal N(0, 1) */
  normal(): number;
}

/**
 * sfc32 seeded through splitmix32 (Vigna; the PractRand-tested small generators used by
 * many JS PRNG libraries): fast, 128-bit state, and identical output on every platform,
 * which the reproducibility of corpora and simulated feedback depends on.
 */
export class ScenarioRng implements RandomSource {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new TypeError(`ScenarioRng seed must be a finite number, got ${seed}`);
    let s = Math.trunc(seed) >>> 0;
    const splitmix32 = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix32();
    this.b = splitmix32();
    this.c = splitmix32();
    this.d = splitmix32();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  private nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Box–Muller, keeping the second variate for the next call. */
  normal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

/** Integer uniform in [lo, hi] inclusive. */
export function randomInt(rng: RandomSource, lo: number, hi: number): number {
  return lo + Math.floor(rng.next() * (hi - lo + 1));
}

export function pickOne<T>(rng: RandomSource, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('pickOne: cannot pick from an empty list');
  return items[Math.floor(rng.next() * items.length)]!;
}

/** Draws a key of `weights` with probability proportional to its weight. */
export function pickWeighted<K extends string>(rng: RandomSource, weights: Readonly<Record<K, number>>): K {
  const entries = Object.entries(weights) as [K, number][];
  const total = entries.reduce((s, [, w]) => s + w, 0);
  if (!(total > 0)) throw new RangeError('pickWeighted: weights must sum to a positive number');
  let u = rng.next() * total;
  for (const [key, w] of entries) {
    u -= w;
    if (u < 0) return key;
  }
  return entries[entries.length - 1]![0];
}

/** Stable 32-bit hash of a string (FNV-1a), for structural, seed-free selections. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
