import { describe, expect, it } from 'vitest';
import { batchProgress } from '../src/lib/batches.js';
import { filtering, NO_FILTERS, toQuery } from '../src/lib/filters.js';
import { createRequest, EMPTY_KEY_FORM, updateRequest } from '../src/lib/keys-form.js';
import { columns, hasData } from '../src/lib/series.js';

describe('request filters', () => {
  it('leave empty fields out and trim the rest', () => {
    expect(toQuery(NO_FILTERS, 50)).toEqual({ limit: 50 });
    expect(toQuery({ status: ' error ', provider: 'flaky', model: '', key: ' alice ' }, 20, '42')).toEqual({ limit: 20, status: 'error', provider: 'flaky', key: 'alice', before: '42' });
    expect(toQuery({ ...NO_FILTERS, status: '503' }, 50)).toEqual({ limit: 50, status: '503' });
  });
  it('refuse a status the gateway would refuse', () => {
    expect(toQuery({ ...NO_FILTERS, status: 'teapot' }, 50)).toBeNull();
    expect(toQuery({ ...NO_FILTERS, status: '999' }, 50)).toBeNull();
  });
  it('know when any is set', () => {
    expect(filtering(NO_FILTERS)).toBe(false);
    expect(filtering({ ...NO_FILTERS, model: 'x' })).toBe(true);
  });
});

describe('the key form', () => {
  it('makes a create request of what was filled in', () => {
    expect(createRequest({ ...EMPTY_KEY_FORM, name: 'ci-bot', rpm: '60', budget_usd: '2.5', budget_period: 'day', models: 'anthropic/*, fast' })).toEqual({
      body: { name: 'ci-bot', rpm: 60, budget_usd: 2.5, budget_period: 'day', models: ['anthropic/*', 'fast'] },
    });
  });
  it('names the first bad field', () => {
    expect(createRequest({ ...EMPTY_KEY_FORM, name: '' })).toEqual({ problem: expect.stringMatching(/^name:/) });
    expect(createRequest({ ...EMPTY_KEY_FORM, name: 'a', rpm: '1.5' })).toEqual({ problem: expect.stringMatching(/^rpm:/) });
    expect(createRequest({ ...EMPTY_KEY_FORM, name: 'a', budget_usd: '0' })).toEqual({ problem: expect.stringMatching(/^budget_usd:/) });
    expect(createRequest({ ...EMPTY_KEY_FORM, name: 'a', expires_at: 'soon' })).toEqual({ problem: expect.stringMatching(/^expires_at:/) });
  });
  it('removes a limit whose field was emptied in an edit', () => {
    expect(updateRequest({ rpm: '', tpm: '1000', max_concurrent: '', budget_usd: '', budget_period: 'month' })).toEqual({
      body: { rpm: null, tpm: 1000, max_concurrent: null, budget_usd: null, budget_period: 'month' },
    });
  });
});

describe('chart data', () => {
  const p = (t: number, requests: number, p50: number | null) => ({
    t, requests, errors: 0, fallbacks: 0, rps: requests / 60, error_rate: 0, p50_ms: p50, p99_ms: p50, ttft_p50_ms: null, ttft_p99_ms: null, input_tokens: 0, output_tokens: 0, cost_usd: 0,
  });
  it('turns points into uPlot columns, gaps as null', () => {
    expect(columns([p(60, 1, 5), p(120, 0, null)], [(x) => x.rps, (x) => x.p50_ms])).toEqual([[60, 120], [1 / 60, 0], [5, null]]);
    expect(hasData([p(60, 0, null)])).toBe(false);
    expect(hasData([p(60, 2, 3)])).toBe(true);
  });
});

describe('batch progress', () => {
  it('counts what finished, however it ended', () => {
    const b = { id: 'msgbatch_1', processing_status: 'in_progress', created_at: '2026-01-01T00:00:00Z', request_counts: { processing: 5, succeeded: 3, errored: 1, canceled: 0, expired: 1 } };
    expect(batchProgress(b)).toEqual({ done: 5, total: 10, fraction: 0.5 });
    expect(batchProgress({ ...b, request_counts: { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 } }).fraction).toBe(0);
  });
});
