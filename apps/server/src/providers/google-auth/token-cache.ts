import type { AccessToken } from './jwt-bearer.js';

/** A token is renewed this long before it expires (Google's own clients use five minutes). */
export const REFRESH_BEFORE_MS = 5 * 60_000;
/** A token with less than this left is never handed out, even when its renewal failed. */
const MIN_REMAINING_MS = 10_000;

/**
 * One access token shared by every request of a provider: fetched on first use, handed out until
 * it comes within REFRESH_BEFORE_MS of expiry (or half its lifetime, for short-lived tokens), then
 * renewed by one fetch that concurrent requests share. If renewal fails while the old token still
 * works, the old token is used and the next request tries again; otherwise the failure is thrown.
 */
export class TokenCache {
  private current: (AccessToken & { renewAt: number }) | undefined;
  private inFlight: Promise<AccessToken> | undefined;

  constructor(
    private readonly fetchToken: () => Promise<AccessToken>,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<string> {
    const now = this.now();
    const current = this.current;
    if (current && now < current.renewAt) return current.token;
    try {
      return (await this.renew()).token;
    } catch (err) {
      if (current && now < current.expiresAt - MIN_REMAINING_MS) return current.token;
      throw err;
    }
  }

  /** Forgets the token (the upstream refused it): the next get() fetches a new one. */
  invalidate(): void {
    this.current = undefined;
  }

  private renew(): Promise<AccessToken> {
    this.inFlight ??= this.fetchToken()
      .then((token) => {
        const lifetime = token.expiresAt - this.now();
        this.current = { ...token, renewAt: token.expiresAt - Math.min(REFRESH_BEFORE_MS, lifetime / 2) };
        return token;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }
}
