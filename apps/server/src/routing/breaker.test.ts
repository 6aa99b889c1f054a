import { describe, expect, it } from 'vitest';
import { CircuitBreakers, MAX_CIRCUITS } from './breaker.js';

const settings = { failureThreshold: 3, cooldownMs: 1000 };

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('CircuitBreakers', () => {
  it('opens after N consecutive failures, not after N failures with a success between', () => {
    const c = clock();
    const b = new CircuitBreakers(c.now);
    b.failure('p/m', settings);
    b.failure('p/m', settings);
    b.success('p/m');
    b.failure('p/m', settings);
    b.failure('p/m', settings);
    expect(b.acquire('p/m', settings)).toBe('closed');
    b.failure('p/m', settings);
    expect(b.acquire('p/m', settings)).toBe('open');
    expect(b.state('p/m', settings)).toBe('open');
    expect(b.retryInMs('p/m', settings)).toBe(1000);
    // Other provider+model pairs are independent.
    expect(b.acquire('p/other', settings)).toBe('closed');
  });

  it('lets exactly one probe through after the cooldown; its success closes the circuit', () => {
    const c = clock();
    const b = new CircuitBreakers(c.now);
    for (let i = 0; i < 3; i++) b.failure('p/m', settings);
    c.advance(999);
    expect(b.acquire('p/m', settings)).toBe('open');
    c.advance(1);
    expect(b.acquire('p/m', settings)).toBe('probe');
    // While the probe is in flight everyone else still goes elsewhere, at once.
    expect(b.acquire('p/m', settings)).toBe('open');
    expect(b.state('p/m', settings)).toBe('half_open');
    b.success('p/m');
    expect(b.acquire('p/m', settings)).toBe('closed');
    expect(b.retryInMs('p/m', settings)).toBeUndefined();
  });

  it('a failed probe opens the circuit for another full cooldown', () => {
    const c = clock();
    const b = new CircuitBreakers(c.now);
    for (let i = 0; i < 3; i++) b.failure('p/m', settings);
    c.advance(5000);
    expect(b.acquire('p/m', settings)).toBe('probe');
    c.advance(200);
    b.failure('p/m', settings);
    expect(b.acquire('p/m', settings)).toBe('open');
    expect(b.retryInMs('p/m', settings)).toBe(1000);
    c.advance(1000);
    expect(b.acquire('p/m', settings)).toBe('probe');
  });

  it('a probe that ends without a verdict gives its slot to the next call', () => {
    const c = clock();
    const b = new CircuitBreakers(c.now);
    for (let i = 0; i < 3; i++) b.failure('p/m', settings);
    c.advance(1000);
    expect(b.acquire('p/m', settings)).toBe('probe');
    b.release('p/m', 'probe');
    expect(b.acquire('p/m', settings)).toBe('probe');
    // Releasing a non-probe call changes nothing.
    b.release('p/m', 'closed');
    expect(b.acquire('p/m', settings)).toBe('open');
  });
});

describe('CircuitBreakers shared with other instances', () => {
  it('tells of openings and closings only, not of every call', () => {
    const c = clock();
    const told: string[] = [];
    const b = new CircuitBreakers(c.now, undefined, { opened: (k, at, ms) => told.push(`open ${k} ${at} ${ms}`), closed: (k) => told.push(`closed ${k}`) });
    b.success('p/m');
    b.failure('p/m', settings);
    b.failure('p/m', settings);
    expect(told).toEqual([]);
    b.failure('p/m', settings);
    expect(told).toEqual(['open p/m 1000000 1000']);
    c.advance(1000);
    expect(b.acquire('p/m', settings)).toBe('probe');
    b.failure('p/m', settings);
    expect(told.at(-1)).toBe('open p/m 1001000 1000');
    c.advance(1000);
    b.acquire('p/m', settings);
    b.success('p/m');
    b.success('p/m');
    expect(told.slice(2)).toEqual(['closed p/m']);
  });

  it("applies another instance's opening (only ever later) and closing, telling the metric", () => {
    const c = clock();
    const states: string[] = [];
    const b = new CircuitBreakers(c.now, (k, s) => states.push(`${k} ${s}`));
    b.applyRemote('p/m', c.now() - 200);
    expect(b.acquire('p/m', settings)).toBe('open');
    expect(b.retryInMs('p/m', settings)).toBe(800);
    b.applyRemote('p/m', c.now() - 900); // older news changes nothing
    expect(b.retryInMs('p/m', settings)).toBe(800);
    c.advance(800);
    expect(b.acquire('p/m', settings)).toBe('probe');
    b.applyRemote('p/m', null);
    expect(b.acquire('p/m', settings)).toBe('closed');
    b.applyRemote('p/x', null); // closing a circuit it never had: nothing
    expect(states).toEqual(['p/m open', 'p/m half_open', 'p/m closed']);
  });

  it('refuses() says what acquire() would, without taking the probe', () => {
    const c = clock();
    const b = new CircuitBreakers(c.now);
    for (let i = 0; i < 3; i++) b.failure('p/m', settings);
    expect(b.refuses('p/m', settings)).toBe(true);
    c.advance(1000);
    expect(b.refuses('p/m', settings)).toBe(false);
    expect(b.refuses('p/m', settings)).toBe(false);
    expect(b.acquire('p/m', settings)).toBe('probe');
    expect(b.refuses('p/m', settings)).toBe(true);
  });
});

describe('CircuitBreakers under client-chosen model names', () => {
  it(`holds at most ${MAX_CIRCUITS} circuits: those only counting failures go first, open ones stay while there is room`, () => {
    const changes: string[] = [];
    const b = new CircuitBreakers(clock().now, (key, state) => changes.push(`${key}:${state}`));
    for (let i = 0; i < 3; i++) b.failure('openai/real', settings);
    expect(b.acquire('openai/real', settings)).toBe('open');
    for (let i = 0; i < 3 * MAX_CIRCUITS; i++) b.failure(`openai/r-${i}`, settings);
    expect(b.size).toBeLessThanOrEqual(MAX_CIRCUITS);
    expect(b.acquire('openai/real', settings)).toBe('open');
    // When the open ones alone fill it, the oldest tenth goes; each one's state is reported closed.
    const full = new CircuitBreakers(clock().now, (key, state) => changes.push(`${key}:${state}`));
    const one = { failureThreshold: 1, cooldownMs: 1000 };
    for (let i = 0; i < MAX_CIRCUITS; i++) full.failure(`openai/o-${i}`, one);
    expect(full.size).toBe(MAX_CIRCUITS);
    changes.length = 0;
    full.failure('openai/one-more', one);
    expect(full.size).toBe(MAX_CIRCUITS - MAX_CIRCUITS / 10 + 1);
    expect(changes.filter((c) => c.endsWith(':closed'))).toEqual(Array.from({ length: MAX_CIRCUITS / 10 }, (_, i) => `openai/o-${i}:closed`));
    expect(full.acquire('openai/o-0', one)).toBe('closed');
    expect(full.acquire(`openai/o-${MAX_CIRCUITS / 10}`, one)).toBe('open');
    expect(full.acquire('openai/one-more', one)).toBe('open');
  });
});
