import { describe, expect, it } from 'vitest';
import { CircuitBreakers } from './breaker.js';

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
