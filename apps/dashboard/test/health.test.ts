import type { ModelStats } from '@conduit/sdk';
import { describe, expect, it } from 'vitest';
import { modelHealth, worstHealth } from '../src/lib/health.js';

const NOW = Date.UTC(2026, 0, 1, 12);

function model(over: Partial<ModelStats> = {}, hour: Partial<ModelStats['last_hour']> = {}): ModelStats {
  return {
    model: 'claude-haiku-4-5',
    configured: true,
    breaker: { state: 'closed', retry_in_ms: null },
    last_hour: { requests: 0, errors: 0, fallbacks: 0, p50_ms: null, p99_ms: null, ...hour },
    retries: 0,
    fallbacks: 0,
    last_retry_at: null,
    last_fallback_at: null,
    learned: { refused_params: [], output_limit: null, refuses_continuation: false },
    ...over,
  };
}

describe('model health', () => {
  it('is idle without traffic and healthy with traffic that succeeds', () => {
    expect(modelHealth(model(), NOW).health).toBe('idle');
    expect(modelHealth(model({}, { requests: 10, errors: 1 }), NOW).health).toBe('healthy');
  });

  it('is degraded when a fifth or more of the last hour failed', () => {
    const h = modelHealth(model({}, { requests: 10, errors: 2 }), NOW);
    expect(h.health).toBe('degraded');
    expect(h.reason).toBe('2 of 10 requests failed in the last hour');
  });

  it('is failing over while requests move on from it, and says whether its circuit is open', () => {
    const h = modelHealth(model({ fallbacks: 3, last_fallback_at: new Date(NOW - 60_000).toISOString(), breaker: { state: 'open', retry_in_ms: 20_000 } }), NOW);
    expect(h.health).toBe('failing_over');
    expect(h.reason).toBe('circuit open · 3 requests moved to a fallback');
  });

  it('is failing when its circuit is open and nothing moved on lately', () => {
    const old = new Date(NOW - 10 * 60_000).toISOString();
    expect(modelHealth(model({ fallbacks: 1, last_fallback_at: old, breaker: { state: 'open', retry_in_ms: 1 } }), NOW).health).toBe('failing');
    expect(modelHealth(model({ breaker: { state: 'half_open', retry_in_ms: 0 } }), NOW).reason).toBe('circuit half-open (probing)');
  });

  it('takes the worst of a provider’s models', () => {
    expect(worstHealth([])).toBe('idle');
    expect(worstHealth(['idle', 'healthy'])).toBe('healthy');
    expect(worstHealth(['healthy', 'failing_over', 'degraded'])).toBe('failing_over');
    expect(worstHealth(['failing', 'failing_over'])).toBe('failing');
  });
});
