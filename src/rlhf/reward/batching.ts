// Length-bucketed batching for reward-model training and scoring, and the per-member
// bootstrap resamples of an ensemble.
//
// Every sequence in a batch is padded to the batch's longest one, so a batch cost is
// (sequences in the batch) × (longest length). Sorting rows by length and cutting the
// sorted run into batches under a token budget keeps a 40-token pair out of a batch
// padded to 256. Ties in length are broken by a seeded shuffle and the batch order is
// shuffled with the same seed, so training still sees a random order, and the same seed
// gives the same batches (part of "same snapshot + seed + config → same artifact").

import { Rng } from '../../engine/rng.js';
import { EvaluationInputError } from '../../evaluation/errors.js';

/** A row's sequence lengths in tokens: `[n]` for a single response, `[chosen, rejected]` for a pair. */
export type RowLengths = number | readonly number[];

export interface LengthBatchOptions {
  /** padded tokens a batch may hold: Σ sequences × longest length */
  maxTokens: number;
  seed: number;
  /** optional cap on rows per batch */
  maxRows?: number;
}

export interface LengthBatch {
  /** row indices into the input */
  rows: number[];
  /** the batch's longest sequence: every sequence is padded to this */
  paddedLength: number;
  /** Σ real sequence lengths in the batch */
  realTokens: number;
}

export interface Packing {
  batches: LengthBatch[];
  realTokens: number;
  paddedTokens: number;
  /** share of the padded tokens that are padding */
  paddingFraction: number;
}

function lengthsOf(row: RowLengths, index: number): readonly number[] {
  const ls = typeof row === 'number' ? [row] : row;
  if (ls.length === 0) throw new EvaluationInputError(`rows[${index}]`, 'a row needs at least one sequence');
  ls.forEach((l, j) => {
    if (!Number.isInteger(l) || l < 1) throw new EvaluationInputError(`rows[${index}][${j}]`, `a sequence length must be a positive integer, got ${l}`);
  });
  return ls;
}

export function packByLength(rows: readonly RowLengths[], options: LengthBatchOptions): Packing {
  const { maxTokens, seed } = options;
  const maxRows = options.maxRows ?? Number.POSITIVE_INFINITY;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new EvaluationInputError('options.maxTokens', `must be a positive integer, got ${maxTokens}`);
  if (!(maxRows >= 1)) throw new EvaluationInputError('options.maxRows', `must be at least 1, got ${maxRows}`);
  const rng = new Rng(seed);
  const info = rows.map((row, i) => {
    const ls = lengthsOf(row, i);
    const longest = Math.max(...ls);
    if (ls.length * longest > maxTokens) {
      throw new EvaluationInputError(`rows[${i}]`, `${ls.length} sequence(s) of up to ${longest} tokens do not fit options.maxTokens = ${maxTokens}`);
    }
    return { index: i, sequences: ls.length, longest, real: ls.reduce((s, l) => s + l, 0) };
  });
  // seeded shuffle, then a stable sort by length: equal lengths land in a seeded order
  const order = rng.shuffle(info.slice()).sort((a, b) => a.longest - b.longest);

  const batches: LengthBatch[] = [];
  let current: LengthBatch | null = null;
  let sequences = 0;
  for (const row of order) {
    // ascending order: the new row is the longest so far
    const fits = current !== null && current.rows.length < maxRows && (sequences + row.sequences) * row.longest <= maxTokens;
    if (!fits) {
      current = { rows: [], paddedLength: 0, realTokens: 0 };
      batches.push(current);
      sequences = 0;
    }
    current!.rows.push(row.index);
    current!.paddedLength = row.longest;
    current!.realTokens += row.real;
    sequences += row.sequences;
  }
  rng.shuffle(batches);

  let realTokens = 0, paddedTokens = 0;
  for (const b of batches) {
    realTokens += b.realTokens;
    paddedTokens += b.rows.reduce((s, r) => s + info[r]!.sequences, 0) * b.paddedLength;
  }
  return { batches, realTokens, paddedTokens, paddingFraction: paddedTokens === 0 ? 0 : 1 - realTokens / paddedTokens };
}

export interface EnsembleResampleOptions {
  seed: number;
  /** false: every member trains on all rows (members then differ only by seed); default true */
  bootstrap?: boolean;
  /**
   * Optional group of each row (e.g. its prompt): whole groups are resampled, so pairs of
   * one prompt — which are correlated — stay together, as the train/held-out split does.
   */
  groups?: readonly (string | number)[];
}

export interface MemberData {
  /** the member's own seed for initialisation and batch order */
  seed: number;
  /** row indices, drawn with replacement when bootstrapping, sorted ascending */
  rows: Int32Array;
}

/**
 * Per-member seeds and training rows of a K-member ensemble (Coste et al. 2023 train
 * members from different seeds; the bootstrap adds data diversity). Member k's data
 * depend only on (seed, k, rows), so adding a member leaves the others unchanged.
 */
export function ensembleMemberData(rowCount: number, members: number, options: EnsembleResampleOptions): MemberData[] {
  if (!Number.isInteger(rowCount) || rowCount < 1) throw new EvaluationInputError('rowCount', `must be a positive integer, got ${rowCount}`);
  if (!Number.isInteger(members) || members < 1) throw new EvaluationInputError('members', `must be a positive integer, got ${members}`);
  if (options.groups && options.groups.length !== rowCount) throw new EvaluationInputError('options.groups', `has ${options.groups.length} entries for ${rowCount} rows`);
  const seeds = new Rng(options.seed);
  const groupRows = groupIndex(rowCount, options.groups);
  const out: MemberData[] = [];
  for (let k = 0; k < members; k++) {
    const seed = seeds.nextUint32();
    if (options.bootstrap === false) {
      out.push({ seed, rows: Int32Array.from({ length: rowCount }, (_, i) => i) });
      continue;
    }
    // the resample stream is separate from the member's training seed
    const rng = new Rng(seed ^ 0x5bd1e995);
    const drawn: number[] = [];
    for (let g = 0; g < groupRows.length; g++) drawn.push(...groupRows[rng.nextInt(groupRows.length)]!);
    out.push({ seed, rows: Int32Array.from(drawn).sort() });
  }
  return out;
}

/** Rows of each group in first-seen order; one group per row when no groups are given. */
function groupIndex(rowCount: number, groups: readonly (string | number)[] | undefined): number[][] {
  if (!groups) return Array.from({ length: rowCount }, (_, i) => [i]);
  const byKey = new Map<string | number, number[]>();
  groups.forEach((g, i) => {
    const list = byKey.get(g);
    if (list) list.push(i);
    else byKey.set(g, [i]);
  });
  return [...byKey.values()];
}
