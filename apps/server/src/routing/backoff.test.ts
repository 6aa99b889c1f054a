import { describe, expect, it } from 'vitest';
import { backoffDelay, sleep } from './backoff.js';

describe('backoffDelay', () => {
  const opts = { baseMs: 100, maxMs: 1000 };

  it('is full jitter: uniform in [0, min(max, base * 2^retry))', () => {
    expect(backoffDelay(0, opts, () => 0)).toBe(0);
    expect(backoffDelay(0, opts, () => 0.999)).toBe(99);
    expect(backoffDelay(2, opts, () => 0.5)).toBe(200);
    expect(backoffDelay(3, opts, () => 0.999)).toBe(799);
    // Capped at max_ms however many retries.
    expect(backoffDelay(4, opts, () => 0.999)).toBe(999);
    expect(backoffDelay(60, opts, () => 0.999)).toBe(999);
  });

  it('spreads delays over the whole range', () => {
    const delays = Array.from({ length: 2000 }, () => backoffDelay(1, opts));
    expect(Math.min(...delays)).toBeLessThan(20);
    expect(Math.max(...delays)).toBeGreaterThan(180);
    expect(Math.max(...delays)).toBeLessThan(200);
  });
});

describe('sleep', () => {
  it('rejects with the signal reason as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = sleep(10_000, controller.signal);
    setTimeout(() => controller.abort(new Error('client left')), 20);
    await expect(pending).rejects.toThrow('client left');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('rejects at once for an already aborted signal', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(sleep(5, controller.signal)).rejects.toThrow('gone');
  });
});
