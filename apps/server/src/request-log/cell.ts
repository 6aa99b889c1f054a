import { BUCKETS, bucketOf } from './histogram.js';
import type { RequestRecord } from './record.js';

/**
 * The traffic of one minute on one provider/model (by metrics label): counts, token and cost sums,
 * and latency and time-to-first-token histograms. Cells add up field by field, so the minutes of
 * several flushes and of several instances merge into one.
 */
export interface StatsCell {
  requests: number;
  errors: number;
  /** Requests served by a fallback (fallback index > 0). */
  fallbacks: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  latency: number[];
  ttft: number[];
}

export function emptyCell(): StatsCell {
  return {
    requests: 0,
    errors: 0,
    fallbacks: 0,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    latency: new Array<number>(BUCKETS).fill(0),
    ttft: new Array<number>(BUCKETS).fill(0),
  };
}

/** Adds one request to a cell. */
export function addRecord(cell: StatsCell, r: RequestRecord): void {
  cell.requests++;
  if (r.errorType !== null) cell.errors++;
  if (r.fallbackIndex > 0) cell.fallbacks++;
  cell.inputTokens += (r.inputTokens ?? 0) + (r.cacheReadTokens ?? 0) + (r.cacheWriteTokens ?? 0);
  cell.outputTokens += r.outputTokens ?? 0;
  cell.costUsd += r.costUsd ?? 0;
  cell.latency[bucketOf(r.latencyMs)]!++;
  if (r.ttftMs !== null) cell.ttft[bucketOf(r.ttftMs)]!++;
}

/** Adds `from` into `into`. */
export function mergeCell(into: StatsCell, from: StatsCell): void {
  into.requests += from.requests;
  into.errors += from.errors;
  into.fallbacks += from.fallbacks;
  into.inputTokens += from.inputTokens;
  into.outputTokens += from.outputTokens;
  into.costUsd += from.costUsd;
  for (let i = 0; i < BUCKETS; i++) {
    into.latency[i]! += from.latency[i] ?? 0;
    into.ttft[i]! += from.ttft[i] ?? 0;
  }
}

/** Minute (seconds since the epoch, a multiple of 60) of an epoch-ms time. */
export function minuteOf(ms: number): number {
  return Math.floor(ms / 60_000) * 60;
}

/** "provider\u0000model": one target of the per-minute figures. */
export function targetKey(provider: string, model: string): string {
  return `${provider}\u0000${model}`;
}

export function splitTarget(key: string): [provider: string, model: string] {
  const i = key.indexOf('\u0000');
  return [key.slice(0, i), key.slice(i + 1)];
}

/** minute → target → cell */
export type MinuteCells = Map<number, Map<string, StatsCell>>;

/** Folds a batch of records into cells by the minute they arrived in and their target. */
export function cellsOf(records: readonly RequestRecord[]): MinuteCells {
  const out: MinuteCells = new Map();
  for (const r of records) {
    const minute = minuteOf(r.at);
    let byTarget = out.get(minute);
    if (!byTarget) {
      byTarget = new Map();
      out.set(minute, byTarget);
    }
    const key = targetKey(r.providerLabel, r.modelLabel);
    let cell = byTarget.get(key);
    if (!cell) {
      cell = emptyCell();
      byTarget.set(key, cell);
    }
    addRecord(cell, r);
  }
  return out;
}
