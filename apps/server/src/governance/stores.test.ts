import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisGovernanceStore } from './redis-store.js';
import { SqliteGovernanceStore } from './sqlite-store.js';
import type { Admission, GovernanceStore, KeyRecord, LedgerEntry, Limits, Settlement, Subject } from './types.js';

/**
 * The same rules, whichever store holds them: every case runs against the embedded store (SQLite +
 * memory) and the Redis one (its Lua scripts), with the clock passed in.
 */

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefixes: string[] = [];
const stores: GovernanceStore[] = [];

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  const redis = new Redis(REDIS_URL);
  for (const p of prefixes) {
    const keys = await redis.keys(`${p}:*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  redis.disconnect();
});

const makers: Array<[string, () => GovernanceStore]> = [
  ['sqlite', () => new SqliteGovernanceStore(':memory:')],
  [
    'redis',
    () => {
      const prefix = `conduit-test-${randomBytes(6).toString('hex')}`;
      prefixes.push(prefix);
      return new RedisGovernanceStore({ url: REDIS_URL, prefix, logger: pino({ level: 'silent' }) });
    },
  ],
];

const NONE: Limits = { models: null, rpm: null, tpm: null, maxConcurrent: null, budgetUsd: null, budgetPeriod: 'day' };
const subject = (id: string, limits: Partial<Limits>): Subject => ({ id, label: `key "${id}"`, limits: { ...NONE, ...limits } });
const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);

function admission(subjects: Subject[], extra: Partial<Admission> = {}): Admission {
  return { subjects, mode: 'consume', lease: null, reserveNusd: 0, now: T0, ...extra };
}
function settlement(subjects: Subject[], extra: Partial<Settlement> = {}): Settlement {
  return { subjects, lease: null, tokens: 0, nusd: 0, ledger: null, now: T0, ...extra };
}
const entry = (extra: Partial<LedgerEntry> = {}): LedgerEntry => ({
  day: '2026-11-30',
  keyId: 'k1',
  teamId: 't1',
  model: 'anthropic/claude-haiku-4-5',
  requests: 1,
  input: 10,
  output: 5,
  cacheRead: 2,
  cacheWrite: 1,
  nusd: 1000,
  ...extra,
});

describe.each(makers)('%s store', (_name, make) => {
  const open = () => {
    const s = make();
    stores.push(s);
    return s;
  };

  it('requests per minute: refused past the limit with the wait until a slot frees; refusals consume nothing', async () => {
    const store = open();
    const key = subject('k:rpm', { rpm: 3 });
    for (const dt of [0, 10_000, 20_000]) expect((await store.admit(admission([key], { now: T0 + dt }))).ok).toBe(true);
    const refused = await store.admit(admission([key], { now: T0 + 30_000 }));
    expect(refused).toMatchObject({ ok: false, refusal: { status: 429, type: 'rate_limit_error', retryAfterS: 30 } });
    expect(refused.state.requests).toEqual({ limit: 3, remaining: 0, resetAt: T0 + 80_000 });
    // The first request leaves the window 60 s after it came: one slot again.
    const later = await store.admit(admission([key], { now: T0 + 60_000 }));
    expect(later).toMatchObject({ ok: true, state: { requests: { limit: 3, remaining: 0 } } });
    // Long idle: everything has left the window.
    const idle = await store.admit(admission([key], { now: T0 + 300_000 }));
    expect(idle).toMatchObject({ ok: true, state: { requests: { limit: 3, remaining: 2, resetAt: T0 + 360_000 } } });
  });

  it('a request must pass the key and its team; a refusal by the team counts for neither', async () => {
    const store = open();
    const key = subject('k:member', { rpm: 10 });
    const team = subject('t:team', { rpm: 1 });
    expect((await store.admit(admission([key, team]))).ok).toBe(true);
    const refused = await store.admit(admission([key, team]));
    expect(refused).toMatchObject({ ok: false, refusal: { message: expect.stringMatching(/key "t:team" is over its limit of 1/) } });
    // The tighter of the two is what the headers report.
    expect(refused.state.requests).toMatchObject({ limit: 1, remaining: 0 });
    const alone = await store.admit(admission([key]));
    expect(alone.state.requests).toMatchObject({ limit: 10, remaining: 8 });
  });

  it('tokens per minute: debited at settlement; admitted while some are left', async () => {
    const store = open();
    const key = subject('k:tpm', { tpm: 100 });
    expect(await store.admit(admission([key]))).toMatchObject({ ok: true, state: { tokens: { limit: 100, remaining: 100 } } });
    await store.settle(settlement([key], { tokens: 99, now: T0 + 1000 }));
    expect(await store.admit(admission([key], { now: T0 + 2000 }))).toMatchObject({ ok: true, state: { tokens: { remaining: 1 } } });
    await store.settle(settlement([key], { tokens: 50, now: T0 + 3000 }));
    const refused = await store.admit(admission([key], { now: T0 + 4000 }));
    expect(refused).toMatchObject({ ok: false, refusal: { status: 429, retryAfterS: 57 }, state: { tokens: { remaining: 0 } } });
  });

  it('concurrency: a lease is held until it settles', async () => {
    const store = open();
    const key = subject('k:conc', { maxConcurrent: 2 });
    expect((await store.admit(admission([key], { lease: 'a' }))).ok).toBe(true);
    expect((await store.admit(admission([key], { lease: 'b' }))).ok).toBe(true);
    expect(await store.admit(admission([key], { lease: 'c' }))).toMatchObject({ ok: false, refusal: { status: 429 } });
    await store.settle(settlement([key], { lease: 'a' }));
    expect((await store.admit(admission([key], { lease: 'c' }))).ok).toBe(true);
  });

  it('budget: 402 once spent; reservations of requests in flight hold the rest back (429)', async () => {
    const store = open();
    const key = subject('k:budget', { budgetUsd: 1, budgetPeriod: 'month' });
    const nusd = 1e9;
    expect((await store.admit(admission([key], { lease: 'a', reserveNusd: 0.7 * nusd }))).ok).toBe(true);
    expect((await store.admit(admission([key], { lease: 'b', reserveNusd: 0.7 * nusd }))).ok).toBe(true);
    expect(await store.admit(admission([key], { lease: 'c', reserveNusd: 0.1 * nusd }))).toMatchObject({ ok: false, refusal: { status: 429, message: expect.stringMatching(/held by requests in flight/) } });
    await store.settle(settlement([key], { lease: 'a', nusd: 0.6 * nusd }));
    await store.settle(settlement([key], { lease: 'b', nusd: 0.5 * nusd }));
    const spent = await store.admit(admission([key], { lease: 'd' }));
    expect(spent).toMatchObject({ ok: false, refusal: { status: 402, type: 'billing_error', message: expect.stringMatching(/renews at 2026-12-01T00:00:00.000Z/) } });
    // A job about to start asks about the budget only.
    expect(await store.admit(admission([key], { mode: 'budget' }))).toMatchObject({ ok: false, refusal: { status: 402 } });
    // A day budget counts today's spend only; a new month starts from nothing.
    expect((await store.admit(admission([subject('k:budget', { budgetUsd: 1, budgetPeriod: 'day' })], { now: T0 + 86_400_000 }))).ok).toBe(true);
    expect((await store.admit(admission([key], { now: Date.UTC(2026, 11, 1, 0, 0, 1) }))).ok).toBe(true);
  });

  it('peek never refuses and consumes nothing', async () => {
    const store = open();
    const key = subject('k:peek', { rpm: 1, budgetUsd: 0.000001 });
    await store.settle(settlement([key], { nusd: 5000 }));
    expect((await store.admit(admission([key]))).ok).toBe(false);
    for (let i = 0; i < 3; i++) expect(await store.admit(admission([key], { mode: 'peek' }))).toMatchObject({ ok: true, state: { requests: { limit: 1, remaining: 1 } } });
  });

  it('the ledger adds up per day, key, team and model, and answers filtered queries', async () => {
    const store = open();
    const key = subject('k:k1', {});
    await store.settle(settlement([key], { ledger: entry() }));
    await store.settle(settlement([key], { ledger: entry({ input: 100, nusd: 500 }) }));
    await store.settle(settlement([key], { ledger: entry({ model: 'openai/gpt-4o' }) }));
    await store.settle(settlement([key], { ledger: entry({ day: '2026-12-01', keyId: 'k2', teamId: null }) }));
    const all = await store.usage({ from: '2026-11-30', to: '2026-12-01' });
    expect(all).toEqual([
      entry({ requests: 2, input: 110, output: 10, cacheRead: 4, cacheWrite: 2, nusd: 1500 }),
      entry({ model: 'openai/gpt-4o' }),
      entry({ day: '2026-12-01', keyId: 'k2', teamId: null }),
    ]);
    expect(await store.usage({ from: '2026-11-30', to: '2026-11-30', model: 'openai/gpt-4o' })).toHaveLength(1);
    expect(await store.usage({ from: '2026-11-01', to: '2026-12-31', teamId: 't1' })).toHaveLength(2);
    expect(await store.usage({ from: '2026-11-01', to: '2026-12-31', keyId: 'k2' })).toHaveLength(1);
  });

  it('keeps key records: found by hash, live names unique, a revoked name free again', async () => {
    const store = open();
    const key: KeyRecord = {
      id: 'key_1',
      name: 'bot',
      hash: `sha256:${'a'.repeat(64)}`,
      teamId: null,
      expiresAt: null,
      ...NONE,
      metadata: { a: 'b' },
      source: 'api',
      createdAt: T0,
      revokedAt: null,
    };
    await store.saveKey(key, true);
    expect(await store.findKeyByHash(key.hash)).toEqual(key);
    await expect(store.saveKey({ ...key, id: 'key_2', hash: `sha256:${'b'.repeat(64)}` }, true)).rejects.toMatchObject({ status: 409 });
    await store.saveKey({ ...key, revokedAt: T0 + 1 }, false);
    await store.saveKey({ ...key, id: 'key_3', hash: `sha256:${'c'.repeat(64)}` }, true);
    const { keys } = await store.loadRecords();
    expect(keys.map((k) => [k.id, k.revokedAt])).toEqual(expect.arrayContaining([['key_1', T0 + 1], ['key_3', null]]));
  });
});

describe('redis store', () => {
  it('refuses a revoked subject in the admission script itself, whatever this instance has cached', async () => {
    const [, make] = makers[1]!;
    const store = make() as RedisGovernanceStore;
    stores.push(store);
    const key: KeyRecord = {
      id: 'key_r',
      name: 'r',
      hash: `sha256:${'d'.repeat(64)}`,
      teamId: null,
      expiresAt: null,
      ...NONE,
      metadata: {},
      source: 'api',
      createdAt: T0,
      revokedAt: null,
    };
    await store.saveKey(key, true);
    const s = subject('k:key_r', {});
    expect((await store.admit(admission([s], { mode: 'peek' }))).ok).toBe(true);
    await store.saveKey({ ...key, revokedAt: T0 }, false);
    expect(await store.admit(admission([s], { mode: 'peek' }))).toMatchObject({ ok: false, refusal: { status: 401 } });
  });
});
