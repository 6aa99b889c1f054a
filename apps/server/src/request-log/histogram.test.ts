import { describe, expect, it } from 'vitest';
import { BUCKETS, LATENCY_BOUNDS_MS, bucketOf, percentile } from './histogram.js';

function histogramOf(values: number[]): number[] {
  const counts = new Array<number>(BUCKETS).fill(0);
  for (const v of values) counts[bucketOf(v)]!++;
  return counts;
}

describe('latency histogram', () => {
  it('puts a value in the first bucket whose bound holds it', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(1)).toBe(0);
    expect(bucketOf(1.5)).toBe(1);
    expect(bucketOf(100)).toBe(LATENCY_BOUNDS_MS.indexOf(100));
    expect(bucketOf(10_000_000)).toBe(BUCKETS - 1);
  });

  it('has no percentile without values', () => {
    expect(percentile(new Array(BUCKETS).fill(0), 0.5)).toBeNull();
  });

  it('finds p50 and p99 within one bucket step of the truth', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i + 1); // 1..1000 ms
    const counts = histogramOf(values);
    const p50 = percentile(counts, 0.5)!;
    const p99 = percentile(counts, 0.99)!;
    expect(p50).toBeGreaterThanOrEqual(300);
    expect(p50).toBeLessThanOrEqual(700);
    expect(p99).toBeGreaterThan(700);
    expect(p99).toBeLessThanOrEqual(1000);
  });

  it('answers the overflow bucket with its lower bound', () => {
    expect(percentile(histogramOf([10_000_000]), 0.99)).toBe(LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]);
  });

  it('is exact when every value sits on one bound', () => {
    expect(percentile(histogramOf([20, 20, 20, 20]), 1)).toBe(20);
  });
});
