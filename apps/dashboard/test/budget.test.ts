import type { UsageRow } from '@conduit/sdk';
import { describe, expect, it } from 'vitest';
import { requestsOf, spendOf } from '../src/lib/budget.js';

const NOW = new Date(Date.UTC(2026, 5, 15, 10));

function row(day: string, key_id: string, cost_usd: number, team_id: string | null = null): UsageRow {
  return { day, key_id, key_name: key_id, team_id, team_name: team_id, model: 'anthropic/claude-haiku-4-5', requests: 2, input_tokens: 1, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, cost_usd };
}

const rows = [row('2026-06-15', 'k1', 1.5, 't1'), row('2026-06-14', 'k1', 2, 't1'), row('2026-06-15', 'k2', 4, 't1'), row('2026-05-31', 'k1', 100)];

describe('spend against budget', () => {
  it('sums the month for a monthly budget', () => {
    expect(spendOf({ id: 'k1', budget_usd: 10, budget_period: 'month' }, rows, 'key', NOW)).toEqual({ spent: 3.5, budget: 10, fraction: 0.35, over: false, period: 'month' });
  });

  it('sums today for a daily budget, and says when it is spent', () => {
    const s = spendOf({ id: 'k2', budget_usd: 4, budget_period: 'day' }, rows, 'key', NOW);
    expect(s.spent).toBe(4);
    expect(s.fraction).toBe(1);
    expect(s.over).toBe(true);
  });

  it('caps the bar at full when overspent, and has no bar without a budget', () => {
    expect(spendOf({ id: 'k2', budget_usd: 1, budget_period: 'month' }, rows, 'key', NOW).fraction).toBe(1);
    expect(spendOf({ id: 'k1', budget_usd: null, budget_period: 'month' }, rows, 'key', NOW).fraction).toBeNull();
  });

  it('adds up a team across its keys', () => {
    expect(spendOf({ id: 't1', budget_usd: 100, budget_period: 'month' }, rows, 'team', NOW).spent).toBe(7.5);
    expect(requestsOf('t1', rows, 'team')).toBe(6);
  });
});
