import { describe, expect, it } from 'vitest';
import { formatAgo, formatCount, formatMs, formatPercent, formatRate, formatUsd } from '../src/lib/format.js';

describe('formatting', () => {
  it('counts', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(1234)).toBe('1,234');
    expect(formatCount(123_456)).toBe('123k');
    expect(formatCount(12_345_678)).toBe('12.3M');
    expect(formatCount(2_000_000_000)).toBe('2B');
    expect(formatCount(null)).toBe('—');
  });
  it('rates', () => {
    expect(formatRate(0)).toBe('0');
    expect(formatRate(0.001)).toBe('<0.01');
    expect(formatRate(1 / 3)).toBe('0.33');
    expect(formatRate(250)).toBe('250');
  });
  it('percentages', () => {
    expect(formatPercent(0)).toBe('0%');
    expect(formatPercent(0.0004)).toBe('<0.1%');
    expect(formatPercent(0.031)).toBe('3.1%');
    expect(formatPercent(0.5)).toBe('50%');
    expect(formatPercent(undefined)).toBe('—');
  });
  it('durations', () => {
    expect(formatMs(0)).toBe('0 ms');
    expect(formatMs(2.345)).toBe('2.3 ms');
    expect(formatMs(850)).toBe('850 ms');
    expect(formatMs(1250)).toBe('1.25 s');
    expect(formatMs(15_000)).toBe('15.0 s');
    expect(formatMs(150_000)).toBe('2.5 min');
    expect(formatMs(null)).toBe('—');
  });
  it('dollars', () => {
    expect(formatUsd(0)).toBe('$0');
    expect(formatUsd(0.00001)).toBe('<$0.0001');
    expect(formatUsd(0.0125)).toBe('$0.0125');
    expect(formatUsd(0.5)).toBe('$0.5');
    expect(formatUsd(1234.5)).toBe('$1,234.50');
  });
  it('how long ago', () => {
    const now = Date.UTC(2026, 0, 1, 12);
    expect(formatAgo(null, now)).toBe('never');
    expect(formatAgo(now - 12_000, now)).toBe('12 s ago');
    expect(formatAgo(new Date(now - 5 * 60_000).toISOString(), now)).toBe('5 min ago');
    expect(formatAgo(now - 3 * 3600_000, now)).toBe('3 h ago');
    expect(formatAgo(now - 2 * 86_400_000, now)).toBe('2 d ago');
  });
});
