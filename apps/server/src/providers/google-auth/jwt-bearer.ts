import { createSign } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { GatewayError } from '../../errors.js';
import { networkError, postJson, readUpstreamText, type UpstreamTarget } from '../transport.js';
import { tryParseJson } from '../upstream-error.js';
import type { ServiceAccountKey } from './credentials-file.js';
import type { CancelSignal } from '../../cancel.js';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Google accepts assertions valid for at most an hour. */
const ASSERTION_LIFETIME_S = 3600;

/** An access token and when it stops working (epoch ms). */
export interface AccessToken {
  token: string;
  expiresAt: number;
}

/**
 * The service-account assertion (RFC 7523): a JWT signed RS256 with the key's private half, issued
 * by the service account, for `scope`, addressed to the token endpoint it is posted to.
 */
export function signAssertion(key: ServiceAccountKey, scope: string, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(key.privateKeyId ? { kid: key.privateKeyId } : {}) };
  const claims = { iss: key.clientEmail, scope, aud: key.tokenUri, iat, exp: iat + ASSERTION_LIFETIME_S };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = createSign('RSA-SHA256').update(input).sign(key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

/**
 * The JWT-bearer grant: the assertion posted (form-encoded) to the key file's own `token_uri`
 * (google-auth-library 10 posts to Google's URL whatever the file says, which private token
 * endpoints and tests cannot use). A refusal (400/401: a revoked key, a wrong clock) is a 401
 * the router treats as the gateway's credential refused; an unreachable or failing token
 * endpoint is a transient failure.
 */
export async function requestAccessToken(
  dispatcher: Dispatcher,
  key: ServiceAccountKey,
  scope: string,
  opts: { now: () => number; signal: CancelSignal; target: UpstreamTarget },
): Promise<AccessToken> {
  const started = opts.now();
  const form = new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion: signAssertion(key, scope, started) }).toString();
  const res = await postJson(dispatcher, key.tokenUri, { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, form, opts.signal, opts.target);
  const text = await readUpstreamText(res, opts.target, opts.signal, 64 * 1024);
  const parsed = tryParseJson(text);
  if (res.status < 200 || res.status >= 300) {
    const detail = [parsed?.error, parsed?.error_description].filter((s) => typeof s === 'string' && s).join(': ') || text.slice(0, 300) || `HTTP ${res.status}`;
    const refused = res.status === 400 || res.status === 401 || res.status === 403;
    const status = refused ? 401 : res.status >= 500 ? 503 : 502;
    throw new GatewayError(status, `${opts.target.provider}: the token endpoint refused the service account ${key.clientEmail}: ${detail}`, {
      type: refused ? 'authentication_error' : 'api_error',
      origin: 'upstream',
      upstream: { ...opts.target, status, kind: 'http' },
    });
  }
  const token = parsed?.access_token;
  const expiresIn = parsed?.expires_in;
  if (typeof token !== 'string' || !token || typeof expiresIn !== 'number' || !(expiresIn > 0)) {
    throw networkError(
      new GatewayError(502, `${opts.target.provider}: the token endpoint answered without access_token and expires_in`, { origin: 'upstream', upstream: { ...opts.target, kind: 'bad_response' } }),
      opts.target,
    );
  }
  return { token, expiresAt: started + expiresIn * 1000 };
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
