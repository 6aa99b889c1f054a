import type { DashboardInfo } from '@conduit/sdk';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/lib/api.js';
import { KEY_SLOT, openSession, signIn, signOut, type KeyStore, type SessionApi } from '../src/lib/session.js';

const INFO: DashboardInfo = {
  auth: 'admin_key',
  log_bodies: false,
  keys_api: true,
  providers: [{ name: 'anthropic', type: 'anthropic' }],
  request_log: { enabled: true, retention_hours: 24, max_records: 100_000, store: 'sqlite' },
  started_at: '2026-01-01T00:00:00Z',
};

function memoryStore(initial: Record<string, string> = {}): KeyStore & { items: Record<string, string> } {
  const items = { ...initial };
  return {
    items,
    getItem: (k) => items[k] ?? null,
    setItem: (k, v) => void (items[k] = v),
    removeItem: (k) => void delete items[k],
  };
}

/** A gateway with auth on (admin key `right`) or off; records the keys it was asked with. */
function gateway(mode: 'admin_key' | 'off', asked: Array<string | null> = []) {
  return (key: string | null): SessionApi => ({
    auth: async () => ({ auth: mode }),
    info: async () => {
      asked.push(key);
      if (mode === 'off' || key === 'right') return { ...INFO, auth: mode };
      throw new ApiError(401, 'not the admin key');
    },
  });
}

describe('the dashboard session', () => {
  it('opens straight in when auth is off, without a key', async () => {
    const s = await openSession(gateway('off'), memoryStore());
    expect(s).toMatchObject({ state: 'signed_in', key: null, info: { auth: 'off' } });
  });

  it('asks for the key when auth is on, and asks the gateway nothing else without one', async () => {
    const asked: Array<string | null> = [];
    expect(await openSession(gateway('admin_key', asked), memoryStore())).toEqual({ state: 'signed_out' });
    expect(asked).toEqual([]);
  });

  it('signs in with the right key, remembers it for the tab, and reopens with it', async () => {
    const store = memoryStore();
    const s = await signIn(gateway('admin_key'), store, '  right ');
    expect(s).toMatchObject({ state: 'signed_in', key: 'right' });
    expect(store.items[KEY_SLOT]).toBe('right');
    expect(await openSession(gateway('admin_key'), store)).toMatchObject({ state: 'signed_in', key: 'right' });
    expect(signOut(store)).toEqual({ state: 'signed_out' });
    expect(store.items[KEY_SLOT]).toBeUndefined();
  });

  it('refuses a wrong or empty key with a message, and forgets a stored key that stopped working', async () => {
    const store = memoryStore({ [KEY_SLOT]: 'old' });
    expect(await signIn(gateway('admin_key'), store, 'wrong')).toEqual({ state: 'signed_out', error: 'That is not the admin key.' });
    expect(await signIn(gateway('admin_key'), store, '   ')).toMatchObject({ state: 'signed_out', error: expect.stringMatching(/admin key/) });
    const again = memoryStore({ [KEY_SLOT]: 'old' });
    expect(await openSession(gateway('admin_key'), again)).toEqual({ state: 'signed_out' });
    expect(again.items[KEY_SLOT]).toBeUndefined();
  });

  it('says why when the gateway refuses the dashboard', async () => {
    const refusing = () => ({
      auth: async () => ({ auth: 'off' as const }),
      info: async (): Promise<DashboardInfo> => {
        throw new ApiError(403, 'the dashboard API answers only this machine');
      },
    });
    expect(await openSession(refusing, memoryStore())).toEqual({ state: 'refused', message: 'the dashboard API answers only this machine' });
  });
});
