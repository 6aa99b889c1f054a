import { describe, expect, it } from 'vitest';
import { REFRESH_BEFORE_MS, TokenCache } from './token-cache.js';

function setup(lifetimeMs = 3_600_000) {
  let now = 1_000_000;
  let fetches = 0;
  let fail: Error | undefined;
  const cache = new TokenCache(async () => {
    fetches++;
    if (fail) throw fail;
    return { token: `t${fetches}`, expiresAt: now + lifetimeMs };
  }, () => now);
  return {
    cache,
    advance: (ms: number) => (now += ms),
    fetches: () => fetches,
    failWith: (err: Error | undefined) => (fail = err),
  };
}

describe('TokenCache', () => {
  it('fetches once, hands the token out until REFRESH_BEFORE_MS before expiry, then renews', async () => {
    const s = setup();
    expect(await s.cache.get()).toBe('t1');
    s.advance(3_600_000 - REFRESH_BEFORE_MS - 1);
    expect(await s.cache.get()).toBe('t1');
    expect(s.fetches()).toBe(1);
    s.advance(1);
    expect(await s.cache.get()).toBe('t2');
    expect(s.fetches()).toBe(2);
  });

  it('concurrent requests share one fetch', async () => {
    const s = setup();
    const tokens = await Promise.all([s.cache.get(), s.cache.get(), s.cache.get()]);
    expect(tokens).toEqual(['t1', 't1', 't1']);
    expect(s.fetches()).toBe(1);
  });

  it('a short-lived token is renewed at half its life', async () => {
    const s = setup(60_000);
    await s.cache.get();
    s.advance(29_999);
    expect(await s.cache.get()).toBe('t1');
    s.advance(1);
    expect(await s.cache.get()).toBe('t2');
  });

  it('a failed renewal keeps a token that still works; once it does not, the failure is thrown', async () => {
    const s = setup();
    await s.cache.get();
    s.advance(3_600_000 - REFRESH_BEFORE_MS + 1_000);
    s.failWith(new Error('token endpoint down'));
    expect(await s.cache.get()).toBe('t1');
    s.advance(REFRESH_BEFORE_MS);
    await expect(s.cache.get()).rejects.toThrow('token endpoint down');
    s.failWith(undefined);
    expect(await s.cache.get()).toBe(`t${s.fetches()}`);
  });

  it('invalidate() forgets the token', async () => {
    const s = setup();
    await s.cache.get();
    s.cache.invalidate();
    expect(await s.cache.get()).toBe('t2');
  });
});
