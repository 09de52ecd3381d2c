/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median with the smallest and largest of the repetitions. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function summarize(values: readonly number[]): Summary {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), runs: [...values] };
}

/**
 * `a` ÷ `b` for two rows measured in the same interleaved rounds: the median of the per-round
 * ratios (`a.runs[r] / b.runs[r]`), and in how many rounds the ratio was below 1. A drift in the
 * machine's speed moves both runs of a round alike, so this moves much less than the ratio of the
 * two medians, which one slow minute on one server's turn decides. Rows with different round counts
 * fall back to the ratio of the medians (`rounds` 0).
 */
export function pairedRatio(a: Summary, b: Summary): { median: number; below: number; rounds: number } {
  if (a.runs.length !== b.runs.length || a.runs.length === 0) return { median: a.median / b.median, below: a.median < b.median ? 1 : 0, rounds: 0 };
  const ratios = a.runs.map((run, r) => run / b.runs[r]!);
  return { median: median(ratios), below: ratios.filter((ratio) => ratio < 1).length, rounds: ratios.length };
}
