import { createClient, createConfig, type Client } from './generated/client/index.js';

export interface ConduitClientOptions {
  /** Gateway address, e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  /** Sent as `x-api-key` (and accepted by the gateway as `Authorization: Bearer` too). */
  apiKey?: string;
  /** Extra headers on every request (e.g. anthropic-beta). */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

/** A generated-SDK client bound to one gateway and credential. Pass it as `client` to createMessage etc. */
export function createConduitClient(opts: ConduitClientOptions): Client {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.apiKey !== undefined) headers['x-api-key'] = opts.apiKey;
  return createClient(
    createConfig({
      baseUrl: opts.baseUrl.replace(/\/+$/, ''),
      headers,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    }),
  );
}
