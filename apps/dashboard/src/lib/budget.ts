import type { UsageRow } from '@conduit/sdk';

export interface Budgeted {
  id: string;
  budget_usd: number | null;
  budget_period: 'day' | 'month';
}

export interface Spend {
  /** USD spent in the current period (UTC day or month). */
  spent: number;
  budget: number | null;
  /** spent / budget, capped at 1 for the bar; null without a budget. */
  fraction: number | null;
  over: boolean;
  period: 'day' | 'month';
}

/** Today and this month in UTC, as the ledger's `day` strings and their prefix. */
export function periodKeys(now: Date): { day: string; month: string } {
  const day = now.toISOString().slice(0, 10);
  return { day, month: day.slice(0, 7) };
}

/**
 * What a key (or team) spent in its current budget period, from the ledger's rows of this month
 * (what GET /admin/v1/usage answers by default): the rows of today for a daily budget, of the
 * month for a monthly one.
 */
export function spendOf(subject: Budgeted, rows: readonly UsageRow[], by: 'key' | 'team', now: Date): Spend {
  const { day, month } = periodKeys(now);
  let spent = 0;
  for (const r of rows) {
    if ((by === 'key' ? r.key_id : r.team_id) !== subject.id) continue;
    if (subject.budget_period === 'day' ? r.day !== day : !r.day.startsWith(month)) continue;
    spent += r.cost_usd;
  }
  const budget = subject.budget_usd;
  return {
    spent,
    budget,
    fraction: budget === null ? null : Math.min(1, spent / budget),
    over: budget !== null && spent >= budget,
    period: subject.budget_period,
  };
}

/** Requests of a key (or team) this month, from the same rows. */
export function requestsOf(id: string, rows: readonly UsageRow[], by: 'key' | 'team'): number {
  let n = 0;
  for (const r of rows) if ((by === 'key' ? r.key_id : r.team_id) === id) n += r.requests;
  return n;
}
