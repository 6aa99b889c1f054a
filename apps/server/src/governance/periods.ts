import type { BudgetPeriod } from './types.js';

/** The budget period containing `now` (UTC): `d2026-11-30` or `m2026-11`, and when the next one starts. */
export function periodOf(period: BudgetPeriod, now: number): { id: string; endsAt: number } {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (period === 'day') {
    return { id: `d${dayOf(now)}`, endsAt: Date.UTC(y, m, d.getUTCDate() + 1) };
  }
  return { id: `m${String(y).padStart(4, '0')}-${String(m + 1).padStart(2, '0')}`, endsAt: Date.UTC(y, m + 1, 1) };
}

/** The UTC day of `now`, YYYY-MM-DD. */
export function dayOf(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/** USD → nano-USD: spend is added up in integers so totals are exact. */
export function toNusd(usd: number): number {
  return Math.round(usd * 1e9);
}

export function toUsd(nusd: number): number {
  return nusd / 1e9;
}
