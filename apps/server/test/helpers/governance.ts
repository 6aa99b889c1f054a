import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createConduitClient, type Client } from '@conduit/sdk';

export const ADMIN_KEY = 'sk-cdt-admin-0123456789abcdefghijklmnop';

/** A pino logger that keeps every line, for checks on what was logged. */
export function captureLog() {
  const lines: Array<Record<string, any>> = [];
  let raw = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      raw += String(chunk);
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines, raw: () => raw };
}

/** A generated-SDK client that sends `key` in x-api-key (or no key). */
export function client(url: string, key?: string): Client {
  return createConduitClient({ baseUrl: url, apiKey: key });
}

/** A client sending the key as `Authorization: Bearer` (what the Anthropic SDK 1.x and ANTHROPIC_AUTH_TOKEN do). */
export function bearerClient(url: string, key: string): Client {
  return createConduitClient({ baseUrl: url, headers: { authorization: `Bearer ${key}` } });
}

export const message = (model = 'anthropic/claude-haiku-4-5', extra: Record<string, unknown> = {}) => ({
  model,
  max_tokens: 64,
  messages: [{ role: 'user' as const, content: 'Hello' }],
  ...extra,
});

/** The rate-limit headers of an answer, as numbers and dates. */
export function rateHeaders(res: Response | undefined) {
  const h = res!.headers;
  const num = (name: string) => (h.get(name) === null ? null : Number(h.get(name)));
  return {
    requestsLimit: num('anthropic-ratelimit-requests-limit'),
    requestsRemaining: num('anthropic-ratelimit-requests-remaining'),
    requestsReset: h.get('anthropic-ratelimit-requests-reset'),
    tokensLimit: num('anthropic-ratelimit-tokens-limit'),
    tokensRemaining: num('anthropic-ratelimit-tokens-remaining'),
    tokensReset: h.get('anthropic-ratelimit-tokens-reset'),
  };
}
