import type { DashboardInfo } from '@conduit/sdk';
import { ApiError } from './api.js';

/** Where the dashboard stands with the gateway. */
export type Session =
  | { state: 'loading' }
  | { state: 'signed_out'; error?: string }
  | { state: 'signed_in'; key: string | null; info: DashboardInfo }
  /** The gateway will not show the dashboard to this browser (e.g. auth off and not on its machine). */
  | { state: 'refused'; message: string };

/** The calls a session needs; the real one is Api, tests pass their own. */
export interface SessionApi {
  auth(): Promise<{ auth: 'admin_key' | 'off' }>;
  info(): Promise<DashboardInfo>;
}

export interface KeyStore {
  getItem(name: string): string | null;
  setItem(name: string, value: string): void;
  removeItem(name: string): void;
}

/** The admin key lives for the browser tab only (sessionStorage): closing the tab signs out. */
export const KEY_SLOT = 'conduit.adminKey';

/**
 * Opens the dashboard: with auth off, straight in; with auth on, with the key this tab signed in
 * with (if it still works), otherwise at the sign-in form. Nothing but the sign-in mode is asked
 * without a key.
 */
export async function openSession(api: (key: string | null) => SessionApi, store: KeyStore): Promise<Session> {
  let mode: 'admin_key' | 'off';
  try {
    mode = (await api(null).auth()).auth;
  } catch (err) {
    return { state: 'refused', message: (err as Error).message };
  }
  if (mode === 'off') {
    try {
      return { state: 'signed_in', key: null, info: await api(null).info() };
    } catch (err) {
      return { state: 'refused', message: (err as Error).message };
    }
  }
  const stored = store.getItem(KEY_SLOT);
  if (stored === null) return { state: 'signed_out' };
  const session = await signIn(api, store, stored);
  return session.state === 'signed_out' ? { state: 'signed_out' } : session;
}

/** Checks the admin key with the gateway; remembers it for this tab when it works. */
export async function signIn(api: (key: string | null) => SessionApi, store: KeyStore, key: string): Promise<Session> {
  const trimmed = key.trim();
  if (trimmed === '') return { state: 'signed_out', error: 'Enter the admin key (auth.admin_key in the gateway config).' };
  try {
    const info = await api(trimmed).info();
    store.setItem(KEY_SLOT, trimmed);
    return { state: 'signed_in', key: trimmed, info };
  } catch (err) {
    store.removeItem(KEY_SLOT);
    if (err instanceof ApiError && err.status === 401) return { state: 'signed_out', error: 'That is not the admin key.' };
    return { state: 'signed_out', error: (err as Error).message };
  }
}

export function signOut(store: KeyStore): Session {
  store.removeItem(KEY_SLOT);
  return { state: 'signed_out' };
}
