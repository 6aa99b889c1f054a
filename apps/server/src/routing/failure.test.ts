import { describe, expect, it } from 'vitest';
import { GatewayError, type UpstreamFailure } from '../errors.js';
import { classifyFailure, describeFailure, exhaustedError, summarize, type AttemptRecord } from './failure.js';

function upstream(status: number | undefined, kind: UpstreamFailure['kind'] = 'http', extra: Partial<UpstreamFailure> = {}, message = 'upstream says no') {
  return new GatewayError(status ?? 502, message, {
    origin: 'upstream',
    upstream: { provider: 'p', model: 'm', status, kind, ...extra },
    headers: status === 429 ? { 'retry-after': '2' } : {},
  });
}

describe('classifyFailure', () => {
  it.each([
    [upstream(429), true, 'rate_limited'],
    [upstream(500), true, 'transient'],
    [upstream(502), true, 'transient'],
    [upstream(503), true, 'transient'],
    [upstream(504), true, 'transient'],
    [upstream(529), true, 'transient'],
    [upstream(408), true, 'transient'],
    [upstream(undefined, 'reset'), true, 'transient'],
    [upstream(undefined, 'connect'), true, 'transient'],
    [upstream(undefined, 'timeout_headers'), true, 'transient'],
    [upstream(undefined, 'timeout_idle'), true, 'transient'],
    [upstream(undefined, 'bad_response'), true, 'transient'],
    [upstream(401), true, 'key'],
    [upstream(403), true, 'key'],
    [upstream(401), false, 'final'],
    [upstream(400, 'context_length'), true, 'next_target'],
    [upstream(400, 'content_policy'), true, 'final'],
    [upstream(400), true, 'final'],
    [upstream(404), true, 'final'],
    [upstream(422), true, 'final'],
    [new GatewayError(400, 'gateway refused'), true, 'final'],
    [new TypeError('bug'), true, 'final'],
  ] as const)('%s (configured key: %s) → %s', (err, configured, expected) => {
    expect(classifyFailure(err, configured)).toBe(expected);
  });
});

describe('describeFailure', () => {
  it('names the status or what happened', () => {
    expect(describeFailure(upstream(503))).toBe('503');
    expect(describeFailure(upstream(undefined, 'timeout_headers'))).toBe('timeout (headers)');
    expect(describeFailure(upstream(400, 'context_length'))).toBe('400 context length');
    expect(describeFailure(upstream(undefined, 'reset'))).toBe('connection reset');
  });
});

describe('exhaustedError', () => {
  const rec = (targetIndex: number, label: string, error?: GatewayError, usedConfiguredKey = true): AttemptRecord => ({
    targetIndex,
    label,
    outcome: error ? describeFailure(error) : 'circuit open',
    error,
    usedConfiguredKey,
  });

  it("returns the primary's last error, naming every attempt", () => {
    const err = exhaustedError([
      rec(0, 'a/x', upstream(503, 'http', {}, 'first')),
      rec(0, 'a/x', upstream(429, 'http', {}, 'primary rate limited')),
      rec(1, 'b/y', upstream(undefined, 'timeout_headers', {}, 'slow')),
    ]);
    expect(err.status).toBe(429);
    expect(err.headers['retry-after']).toBe('2');
    expect(err.message).toBe('primary rate limited (3 attempts: a/x → 503, a/x → 429, b/y → timeout (headers))');
  });

  it('prefers a real failure over a context-length refusal, and the last refusal when all refused', () => {
    const mixed = exhaustedError([rec(0, 'a/x', upstream(400, 'context_length', {}, 'too long')), rec(1, 'b/y', upstream(503, 'http', {}, 'down'))]);
    expect(mixed.status).toBe(503);
    const all = exhaustedError([rec(0, 'a/x', upstream(400, 'context_length', {}, 'too long for x')), rec(1, 'b/y', upstream(400, 'context_length', {}, 'too long for y'))]);
    expect(all.status).toBe(400);
    expect(all.message).toMatch(/^too long for y \(2 attempts/);
  });

  it("does not blame the client for the gateway's own refused key", () => {
    const err = exhaustedError([rec(0, 'a/x', upstream(401, 'http', {}, 'invalid x-api-key'))]);
    expect(err.message).toBe("the upstream refused the gateway's credentials: invalid x-api-key");
    expect(err.status).toBe(502);
    expect(err.message).toMatch(/refused the gateway's credentials: invalid x-api-key/);
  });

  it('is a 503 with retry-after when no target could be tried', () => {
    const err = exhaustedError([rec(0, 'a/x'), rec(1, 'b/y')], 1500);
    expect(err.status).toBe(503);
    expect(err.type).toBe('overloaded_error');
    expect(err.headers['retry-after']).toBe('2');
    expect(err.message).toBe('no upstream available: 0 attempts: a/x → circuit open, b/y → circuit open');
  });

  it('summarize counts only upstream calls', () => {
    expect(summarize([rec(0, 'a/x'), rec(1, 'b/y', upstream(500))])).toBe('1 attempt: a/x → circuit open, b/y → 500');
  });
});
