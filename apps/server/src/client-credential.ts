import type { IncomingHttpHeaders } from 'node:http';

/** The credential a client sent: an `x-api-key` value or the token of `Authorization: Bearer`. */
export interface ClientCredential {
  kind: 'x-api-key' | 'bearer';
  secret: string;
}

const BEARER = /^bearer[ \t]+([^ \t].*)$/i;

/**
 * The client's credential: the one function that decides it, for everything that uses one (what an
 * Anthropic-type provider without keys forwards, who owns an async job, what the log names). A
 * non-empty `x-api-key` wins; else the token of `Authorization: Bearer <token>`; else there is none.
 * An empty header counts as absent, and an Authorization of another scheme (Basic, ...) is no
 * credential: it is neither forwarded nor used to tell callers apart.
 */
export function clientCredential(headers: IncomingHttpHeaders): ClientCredential | undefined {
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string') {
    const secret = apiKey.trim();
    if (secret !== '') return { kind: 'x-api-key', secret };
  }
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const m = BEARER.exec(authorization);
    const secret = m?.[1]!.trim();
    if (secret) return { kind: 'bearer', secret };
  }
  return undefined;
}
