// Latency percentiles for the load summary (nearest-rank, as HdrHistogram and most
// load tools report them: p99 is a latency that was actually observed).

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function percentile(sortedAscending: readonly number[], q: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  if (!(q > 0 && q <= 1)) throw new RangeError(`percentile q must be in (0, 1], got ${q}`);
  const rank = Math.ceil(q * sortedAscending.length);
  return sortedAscending[rank - 1]!;
}

export function summarizeLatencies(samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 10) / 10;
  return {
    count: sorted.length,
    p50: r(percentile(sorted, 0.5)),
    p90: r(percentile(sorted, 0.9)),
    p99: r(percentile(sorted, 0.99)),
    max: sorted.length === 0 ? Number.NaN : r(sorted[sorted.length - 1]!),
  };
}
