import type { BudgetPeriod } from './types.js';

interface Calendar {
  /** ms since epoch: the day's first and the next day's first. */
  dayStart: number;
  day: { id: string; endsAt: number };
  month: { id: string; endsAt: number };
  /** YYYY-MM-DD */
  date: string;
}

/** Every request asks which day and month it is in: worked out once per UTC day. */
let today: Calendar | undefined;

function calendar(now: number): Calendar {
  if (today !== undefined && now >= today.dayStart && now < today.day.endsAt) return today;
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const date = d.toISOString().slice(0, 10);
  const c: Calendar = {
    dayStart: Date.UTC(y, m, d.getUTCDate()),
    day: { id: `d${date}`, endsAt: Date.UTC(y, m, d.getUTCDate() + 1) },
    month: { id: `m${date.slice(0, 7)}`, endsAt: Date.UTC(y, m + 1, 1) },
    date,
  };
  // Only the current day is kept; a clock passed in for another day (tests) computes afresh.
  if (today === undefined || Math.abs(now - Date.now()) < 86_400_000) today = c;
  return c;
}

/** The budget period containing `now` (UTC): `d2026-11-30` or `m2026-11`, and when the next one starts. */
export function periodOf(period: BudgetPeriod, now: number): { id: string; endsAt: number } {
  const c = calendar(now);
  return period === 'day' ? c.day : c.month;
}

/** The UTC day of `now`, YYYY-MM-DD. */
export function dayOf(now: number): string {
  return calendar(now).date;
}

/** USD → nano-USD: spend is added up in integers so totals are exact. */
export function toNusd(usd: number): number {
  return Math.round(usd * 1e9);
}

export function toUsd(nusd: number): number {
  return nusd / 1e9;
}
