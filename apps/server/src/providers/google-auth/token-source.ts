import type { Dispatcher } from 'undici';
import { GatewayError } from '../../errors.js';
import { createDispatcher } from '../transport.js';
import { readCredentialsFile } from './credentials-file.js';
import { requestAccessToken } from './jwt-bearer.js';
import { TokenCache } from './token-cache.js';

/** Every Google Cloud API, Vertex AI included. */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** OAuth access tokens for Google Cloud calls (Claude on Vertex today; Gemini on Vertex can use the same). */
export interface GoogleTokenSource {
  /** A token valid for at least a few more seconds; cached and renewed before expiry. */
  token(): Promise<string>;
  /** The upstream refused the token (401): fetch a fresh one next time. */
  invalidate(): void;
  close(): Promise<void>;
}

export interface TokenSourceOptions {
  /** A credentials file; absent = application default credentials. */
  credentialsFile?: string;
  scopes?: string[];
  /** Names the provider in errors. */
  provider: string;
  connectMs?: number;
  now?: () => number;
  /** Longest wait for the token endpoint. Default 30 s. */
  timeoutMs?: number;
}

/**
 * - A service-account key file: our own JWT-bearer grant posted to the file's `token_uri`,
 *   through the gateway's own HTTP client, cached (TokenCache).
 * - Any other credentials file (authorized_user from `gcloud auth application-default login`,
 *   external_account for workload identity federation, ...) and no file at all (application
 *   default credentials: GOOGLE_APPLICATION_CREDENTIALS, gcloud's file, the metadata server on
 *   Google Cloud): google-auth-library, which caches and renews its tokens itself.
 */
export function createGoogleTokenSource(opts: TokenSourceOptions): GoogleTokenSource {
  const scope = (opts.scopes ?? [CLOUD_PLATFORM_SCOPE]).join(' ');
  const target = { provider: opts.provider, model: 'oauth2 token' };
  const credentials = opts.credentialsFile ? readCredentialsFile(opts.credentialsFile) : undefined;
  if (credentials?.kind === 'service_account') {
    const dispatcher: Dispatcher = createDispatcher({ connectMs: opts.connectMs ?? 10_000, headersMs: opts.timeoutMs ?? 30_000 });
    const now = opts.now ?? Date.now;
    const cache = new TokenCache(
      () => requestAccessToken(dispatcher, credentials.key, scope, { now, signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000), target }),
      now,
    );
    return { token: () => cache.get(), invalidate: () => cache.invalidate(), close: () => dispatcher.close() };
  }
  return libraryTokenSource(opts.credentialsFile, scope.split(' '), opts.provider);
}

function libraryTokenSource(keyFilename: string | undefined, scopes: string[], provider: string): GoogleTokenSource {
  let client: Promise<{ getAccessToken(): Promise<{ token?: string | null }> }> | undefined;
  const load = () =>
    (client ??= import('google-auth-library').then(({ GoogleAuth }) => new GoogleAuth({ scopes, ...(keyFilename ? { keyFilename } : {}) }).getClient()));
  return {
    async token() {
      try {
        const { token } = await (await load()).getAccessToken();
        if (!token) throw new Error('no access token');
        return token;
      } catch (err) {
        client = undefined;
        throw new GatewayError(401, `${provider}: no Google Cloud credentials: ${(err as Error).message}`, {
          type: 'authentication_error',
          origin: 'upstream',
          upstream: { provider, model: 'oauth2 token', status: 401, kind: 'http' },
          cause: err,
        });
      }
    },
    invalidate() {
      client = undefined;
    },
    async close() {},
  };
}
