/** Latency figures of one series, in ms, with its distribution kept for the report's charts. */
export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The value at each whole percentile, 0 to 100 (101 points): enough for a CDF, small enough to keep in JSON. */
  percentilesMs: number[];
}

/** The nearest-rank percentile of ascending `sorted` (p in 0..1). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

export function summarizeLatencies(values: Iterable<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) throw new Error('no latency samples');
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    samples: sorted.length,
    p50Ms: round(percentile(sorted, 0.5)),
    p90Ms: round(percentile(sorted, 0.9)),
    p99Ms: round(percentile(sorted, 0.99)),
    maxMs: round(sorted[sorted.length - 1]),
    percentilesMs: Array.from({ length: 101 }, (_, i) => round(percentile(sorted, i / 100))),
  };
}
