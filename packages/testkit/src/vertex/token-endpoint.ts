/**
 * Google's OAuth token endpoint for the service-account JWT-bearer grant, as a fake: it checks the
 * assertion as Google does (RS256 signature with the key's public half, issuer, audience = the
 * token URL, scope, lifetime) before issuing a short-lived access token, and tells the fake's API
 * routes whether a bearer token is one it issued and still valid. Shared by the fakes of Vertex AI
 * (Claude) and of Gemini on Vertex AI.
 */
import { randomBytes, verify, type KeyObject } from 'node:crypto';
import type { FakeReply, RecordedRequest } from '../types.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

export interface TokenEndpointOptions {
  /** Service accounts whose assertions are accepted. */
  serviceAccounts?: Array<{ clientEmail: string; publicKey: KeyObject | string }>;
  /** Lifetime of issued access tokens. Default 3600 s. */
  tokenTtlSeconds?: number;
  now?: () => number;
}

export interface TokenEndpoint {
  /** Access tokens issued so far, in order. */
  readonly issuedTokens: string[];
  /** The answer to `POST /token`. */
  grant(req: RecordedRequest): FakeReply;
  /** Whether an `Authorization` header carries a token this endpoint issued that has not expired. */
  accepts(authorization: unknown): boolean;
}

export function createTokenEndpoint(opts: TokenEndpointOptions = {}): TokenEndpoint {
  const now = opts.now ?? Date.now;
  const accounts = opts.serviceAccounts ?? [];
  const issued = new Map<string, number>();
  const issuedTokens: string[] = [];

  return {
    issuedTokens,
    accepts(authorization) {
      const auth = typeof authorization === 'string' ? authorization : '';
      const expires = auth.startsWith('Bearer ') ? issued.get(auth.slice(7)) : undefined;
      return expires !== undefined && expires > now();
    },
    grant(req) {
      const form = new URLSearchParams(req.rawBody);
      const refuse = (description: string): FakeReply => ({ kind: 'json', status: 400, body: { error: 'invalid_grant', error_description: description } });
      if (form.get('grant_type') !== JWT_BEARER) return { kind: 'json', status: 400, body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' } };
      const parts = (form.get('assertion') ?? '').split('.');
      if (parts.length !== 3) return refuse('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.');
      let header: any;
      let claims: any;
      try {
        header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
        claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
      } catch {
        return refuse('Invalid JWT: malformed header or claims.');
      }
      if (header.alg !== 'RS256') return refuse(`Invalid JWT: alg ${header.alg} is not RS256.`);
      const account = accounts.find((a) => a.clientEmail === claims.iss);
      if (!account) return refuse('Invalid grant: account not found');
      const signatureOk = verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), account.publicKey, Buffer.from(parts[2]!, 'base64url'));
      if (!signatureOk) return refuse('Invalid JWT Signature.');
      const tokenUrl = `http://${req.headers.host}/token`;
      if (claims.aud !== tokenUrl) return refuse(`Invalid JWT: audience must be ${tokenUrl}.`);
      if (typeof claims.scope !== 'string' || !claims.scope.split(' ').includes(CLOUD_PLATFORM)) return { kind: 'json', status: 400, body: { error: 'invalid_scope', error_description: 'Invalid OAuth scope or ID token audience provided.' } };
      const nowS = Math.floor(now() / 1000);
      if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number' || claims.iat > nowS + 60 || claims.exp <= nowS || claims.exp - claims.iat > 3600) {
        return refuse('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
      }
      const ttl = opts.tokenTtlSeconds ?? 3600;
      const token = `ya29.fake-${randomBytes(12).toString('base64url')}`;
      issued.set(token, now() + ttl * 1000);
      issuedTokens.push(token);
      return { kind: 'json', body: { access_token: token, expires_in: ttl, token_type: 'Bearer' } };
    },
  };
}
