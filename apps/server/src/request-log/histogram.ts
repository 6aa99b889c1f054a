/**
 * Latency histograms of the per-minute traffic figures: fixed bucket bounds (milliseconds), so
 * minutes and instances add up bucket by bucket, and p50/p99 come from the sum. Bounds step by
 * about 1.5× from 1 ms to 10 minutes; a percentile is interpolated inside its bucket, so it is
 * within one step of the truth.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = [
  1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1_000, 1_500, 2_000, 3_000, 5_000, 7_000, 10_000, 15_000,
  20_000, 30_000, 60_000, 120_000, 300_000, 600_000,
];

/** Buckets per histogram: one per bound, plus one for everything above the last. */
export const BUCKETS = LATENCY_BOUNDS_MS.length + 1;

/** The bucket a value falls in: the first whose bound is at least the value. */
export function bucketOf(ms: number): number {
  let i = 0;
  while (i < LATENCY_BOUNDS_MS.length && ms > LATENCY_BOUNDS_MS[i]!) i++;
  return i;
}

/**
 * The q-quantile (0 < q ≤ 1) of a histogram's counts, interpolated linearly inside its bucket
 * (the first bucket starts at 0; the overflow bucket answers its lower bound). Null when empty.
 */
export function percentile(counts: ArrayLike<number>, q: number): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i]!;
    if (n === 0) continue;
    if (seen + n >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      if (i >= LATENCY_BOUNDS_MS.length) return lower;
      const upper = LATENCY_BOUNDS_MS[i]!;
      return Math.round((lower + ((rank - seen) / n) * (upper - lower)) * 100) / 100;
    }
    seen += n;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}
