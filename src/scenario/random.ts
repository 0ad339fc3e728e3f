// The random source every scenario component draws from: the engine's seeded `Rng`
// (one generator for the whole project, so a seed means the same thing everywhere).
// Functions take the `RandomSource` shape so a test can pass a scripted source.

import { Rng } from '../engine/rng.js';

/** A seeded generator for scenario code. */
export function seededRng(seed: number): RandomSource {
  return new Rng(seed);
}

export interface RandomSource {
  /** uniform in [0, 1) */
  next(): number;
  /** standard normal N(0, 1) */
  normal(): number;
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
