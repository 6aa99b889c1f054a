import { emptyCell, mergeCell, minuteOf, type MinuteCells, type StatsCell } from './cell.js';
import { percentile } from './histogram.js';
import type { RequestLogStore } from './types.js';

export type TrafficWindow = 'hour' | 'day';

const WINDOWS: Record<TrafficWindow, { minutes: number; intervalS: number }> = {
  hour: { minutes: 60, intervalS: 60 },
  day: { minutes: 24 * 60, intervalS: 300 },
};

/**
 * Minutes this far behind the current one are taken as final and kept in memory: each read then
 * asks the store only for the last few minutes. (A batch that reaches the store later than this,
 * after a long outage, shows once the cache is rebuilt: at the next restart.)
 */
const SEALED_AFTER_MINUTES = 3;

export interface TrafficPoint {
  t: number;
  requests: number;
  errors: number;
  fallbacks: number;
  rps: number;
  error_rate: number;
  p50_ms: number | null;
  p99_ms: number | null;
  ttft_p50_ms: number | null;
  ttft_p99_ms: number | null;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

/** A cell as a point of the series covering `seconds`. */
export function pointOf(t: number, seconds: number, c: StatsCell): TrafficPoint {
  return {
    t,
    requests: c.requests,
    errors: c.errors,
    fallbacks: c.fallbacks,
    rps: round(c.requests / seconds, 4),
    error_rate: c.requests === 0 ? 0 : round(c.errors / c.requests, 4),
    p50_ms: percentile(c.latency, 0.5),
    p99_ms: percentile(c.latency, 0.99),
    ttft_p50_ms: percentile(c.ttft, 0.5),
    ttft_p99_ms: percentile(c.ttft, 0.99),
    input_tokens: c.inputTokens,
    output_tokens: c.outputTokens,
    cost_usd: round(c.costUsd, 6),
  };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/**
 * The traffic figures for the dashboard, from the store's per-minute cells. Minutes older than a
 * few are final: they are read once and kept (a day of them at most), so the dashboard's polls
 * cost a read of the last few minutes each.
 */
export class TrafficReader {
  /** minute → its cells (an empty map for a minute without traffic); only sealed minutes. */
  private readonly sealed: MinuteCells = new Map();
  /** Every sealed minute up to this one is in `sealed` (or older than a day). */
  private sealedThrough = 0;
  /** The sum of each interval whose minutes are all sealed, by "intervalS:start" (a day of them at most). */
  private readonly sealedSums = new Map<string, { sum: StatsCell; point: TrafficPoint }>();

  constructor(
    private readonly store: RequestLogStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Cells of the last `minutes` minutes, this one included. */
  async recent(minutes: number): Promise<MinuteCells> {
    const current = minuteOf(this.now());
    const from = current - (minutes - 1) * 60;
    const sealedLimit = current - SEALED_AFTER_MINUTES * 60;
    const dayStart = current - (WINDOWS.day.minutes - 1) * 60;
    if (this.sealedThrough < sealedLimit) {
      const start = Math.max(this.sealedThrough + 60, dayStart);
      if (start <= sealedLimit) {
        const read = await this.store.cells(start, sealedLimit);
        for (let m = start; m <= sealedLimit; m += 60) this.sealed.set(m, read.get(m) ?? new Map());
      }
      this.sealedThrough = sealedLimit;
      for (const m of this.sealed.keys()) if (m < dayStart) this.sealed.delete(m);
    }
    const live = await this.store.cells(Math.max(from, sealedLimit + 60), current);
    const out: MinuteCells = new Map();
    for (let m = from; m <= current; m += 60) {
      const cells = m <= sealedLimit ? this.sealed.get(m) : live.get(m);
      if (cells && cells.size > 0) out.set(m, cells);
    }
    return out;
  }

  async traffic(window: TrafficWindow): Promise<{ window: TrafficWindow; interval_s: number; from: string; to: string; points: TrafficPoint[]; totals: TrafficPoint }> {
    const { minutes, intervalS } = WINDOWS[window];
    const cells = await this.recent(minutes);
    const current = minuteOf(this.now());
    const firstMinute = current - (minutes - 1) * 60;
    // Intervals aligned on their own length, the last one holding the current minute.
    const lastStart = Math.floor(current / intervalS) * intervalS;
    const count = Math.ceil(minutes * 60 / intervalS);
    const points: TrafficPoint[] = [];
    const total = emptyCell();
    const sealedLimit = current - SEALED_AFTER_MINUTES * 60;
    for (let k = count - 1; k >= 0; k--) {
      const start = lastStart - k * intervalS;
      // An interval whose minutes are all sealed (and inside the window) never changes: summed once.
      const final = start >= firstMinute && start + intervalS - 60 <= sealedLimit;
      const id = `${intervalS}:${start}`;
      let done = final ? this.sealedSums.get(id) : undefined;
      if (!done) {
        const sum = emptyCell();
        for (let m = start; m < start + intervalS; m += 60) {
          if (m < firstMinute) continue;
          for (const c of cells.get(m)?.values() ?? []) mergeCell(sum, c);
        }
        done = { sum, point: pointOf(start, intervalS, sum) };
        if (final) this.sealedSums.set(id, done);
      }
      mergeCell(total, done.sum);
      points.push(done.point);
    }
    for (const key of this.sealedSums.keys()) {
      if (Number(key.slice(key.indexOf(':') + 1)) < current - WINDOWS.day.minutes * 60) this.sealedSums.delete(key);
    }
    return {
      window,
      interval_s: intervalS,
      from: new Date(firstMinute * 1000).toISOString(),
      to: new Date(this.now()).toISOString(),
      points,
      totals: pointOf(firstMinute, minutes * 60, total),
    };
  }

  /** Each target's figures summed over the last `minutes` minutes. */
  async byTarget(minutes: number): Promise<Map<string, StatsCell>> {
    const cells = await this.recent(minutes);
    const out = new Map<string, StatsCell>();
    for (const byTarget of cells.values()) {
      for (const [key, c] of byTarget) {
        let sum = out.get(key);
        if (!sum) {
          sum = emptyCell();
          out.set(key, sum);
        }
        mergeCell(sum, c);
      }
    }
    return out;
  }
}
