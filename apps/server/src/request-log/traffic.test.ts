import { describe, expect, it } from 'vitest';
import { cellsOf } from './cell.js';
import { SqliteRequestLogStore } from './sqlite-store.js';
import { testRecord } from './test-records.js';
import { TrafficReader } from './traffic.js';
import type { RequestLogStore } from './types.js';

/** Counts the minutes each read asks the store for. */
function counting(store: RequestLogStore) {
  const reads: Array<[number, number]> = [];
  const wrapped: RequestLogStore = {
    kind: store.kind,
    write: (r, c) => store.write(r, c),
    list: (q) => store.list(q),
    cells: (from, to) => {
      reads.push([from, to]);
      return store.cells(from, to);
    },
    prune: (a, b, c) => store.prune(a, b, c),
    close: () => store.close(),
  };
  return { store: wrapped, reads };
}

const T0 = Date.UTC(2026, 5, 1, 10, 30, 20);

describe('traffic figures', () => {
  it('gives one point a minute for the hour, with rates, percentiles, tokens and cost, and the totals', async () => {
    const store = new SqliteRequestLogStore(':memory:');
    const records = [
      testRecord({ at: T0 - 120_000, latencyMs: 100, inputTokens: 10, cacheReadTokens: 5, outputTokens: 7, costUsd: 0.5 }),
      testRecord({ at: T0 - 1_000, latencyMs: 200, errorType: 'api_error', status: 500, fallbackIndex: 1 }),
      testRecord({ at: T0, latencyMs: 300, ttftMs: 50, stream: true }),
      testRecord({ at: T0 - 2 * 3600_000 }), // outside the hour
    ];
    await store.write(records, cellsOf(records));
    const reader = new TrafficReader(store, () => T0);
    const hour = await reader.traffic('hour');
    expect(hour.points).toHaveLength(60);
    expect(hour.interval_s).toBe(60);
    const last = hour.points[59]!;
    expect(last.t).toBe(Math.floor(T0 / 60_000) * 60);
    expect(last.requests).toBe(2);
    expect(last.errors).toBe(1);
    expect(last.error_rate).toBe(0.5);
    expect(last.fallbacks).toBe(1);
    expect(last.rps).toBeCloseTo(2 / 60, 4);
    expect(last.ttft_p50_ms).not.toBeNull();
    expect(hour.points[57]!.requests).toBe(1);
    expect(hour.points[57]!.input_tokens).toBe(15);
    expect(hour.totals.requests).toBe(3);
    expect(hour.totals.cost_usd).toBeCloseTo(0.502, 6);
    expect(hour.totals.p50_ms).toBeGreaterThan(150);
    expect(hour.totals.p50_ms).toBeLessThanOrEqual(300);
    expect(hour.points[0]!.p50_ms).toBeNull();

    const day = await reader.traffic('day');
    expect(day.points).toHaveLength(288);
    expect(day.interval_s).toBe(300);
    expect(day.totals.requests).toBe(4);
    await store.close();
  });

  it('reads the older minutes once and then only the last few', async () => {
    const base = new SqliteRequestLogStore(':memory:');
    const { store, reads } = counting(base);
    let now = T0;
    const reader = new TrafficReader(store, () => now);
    await reader.traffic('hour');
    const firstRead = reads.length;
    reads.length = 0;
    now += 1000;
    await reader.traffic('hour');
    await reader.traffic('day');
    for (const [from, to] of reads) expect(to - from).toBeLessThanOrEqual(3 * 60);
    expect(firstRead).toBeGreaterThan(0);
    // A new minute: only that one joins the sealed ones.
    reads.length = 0;
    now += 60_000;
    await reader.traffic('hour');
    expect(reads.every(([from, to]) => to - from <= 3 * 60)).toBe(true);
    await base.close();
  });

  it('sums each target over the last hour', async () => {
    const store = new SqliteRequestLogStore(':memory:');
    const records = [testRecord({ at: T0 }), testRecord({ at: T0, providerLabel: 'openai', modelLabel: 'gpt-5', errorType: 'api_error' })];
    await store.write(records, cellsOf(records));
    const byTarget = await new TrafficReader(store, () => T0).byTarget(60);
    expect(byTarget.get('openai\u0000gpt-5')?.errors).toBe(1);
    expect(byTarget.get('anthropic\u0000claude-haiku-4-5')?.requests).toBe(1);
    await store.close();
  });
});
