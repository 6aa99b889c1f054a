import { parseSse } from '@conduit/testkit';
import type { RunningGateway } from './gateway.js';

export const MESSAGES = '/anthropic/v1/messages';

/** A routing-test provider: small backoffs and timeouts so fault scenarios take milliseconds, breaker out of the way. */
export function anthropicProvider(baseUrl: string, over: Record<string, unknown> = {}) {
  return {
    type: 'anthropic' as const,
    base_url: baseUrl,
    keys: [{ value: 'sk-main' }],
    max_retries: 2,
    retry: { base_ms: 40, max_ms: 160, max_retry_after_ms: 3_000, key_cooldown_ms: 60_000 },
    timeouts: { connect_ms: 1_000, headers_ms: 2_000, first_token_ms: 2_000, idle_ms: 2_000, total_ms: 10_000 },
    breaker: { failure_threshold: 1_000, cooldown_ms: 1_000 },
    ...over,
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  /** Parsed JSON for JSON answers. */
  json?: any;
  text: string;
  /** Parsed SSE events for streams. */
  events?: Array<{ event: string; data: any }>;
  /** Wall time from sending the request to the end of the body. */
  ms: number;
}

/** Pays the gateway's one-time cost (the contract validator compiles on the first request) in a hook, not in a timed test. */
export async function warmUp(gw: RunningGateway): Promise<void> {
  await fetch(gw.url + MESSAGES, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) => r.text());
}

/** POSTs a Messages request over a real socket and reads the whole answer. */
export async function send(gw: RunningGateway, body: Record<string, unknown>, opts: { signal?: AbortSignal } = {}): Promise<Reply> {
  const started = Date.now();
  const res = await fetch(gw.url + MESSAGES, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'client-key' },
    body: JSON.stringify({ max_tokens: 32, messages: [{ role: 'user', content: 'hello' }], ...body }),
    signal: opts.signal,
  });
  const text = await res.text();
  const ms = Date.now() - started;
  const isStream = (res.headers.get('content-type') ?? '').includes('text/event-stream');
  return {
    status: res.status,
    headers: res.headers,
    text,
    ms,
    ...(isStream ? { events: parseSse(text) } : { json: text ? JSON.parse(text) : undefined }),
  };
}

/** Milliseconds between consecutive requests a fake received. */
export function gaps(requests: Array<{ at: number }>): number[] {
  return requests.slice(1).map((r, i) => r.at - requests[i]!.at);
}

/** The x-bf-* headers of an answer, for one-line assertions. */
export function served(reply: Reply): Record<string, string | null> {
  return {
    provider: reply.headers.get('x-bf-provider'),
    model: reply.headers.get('x-bf-model'),
    attempts: reply.headers.get('x-bf-attempts'),
    fallbackIndex: reply.headers.get('x-bf-fallback-index'),
  };
}

/** The text a stream delivered, from its text deltas. */
export function streamedText(events: Array<{ event: string; data: any }>): string {
  return events
    .filter((e) => e.event === 'content_block_delta' && e.data?.delta?.type === 'text_delta')
    .map((e) => e.data.delta.text)
    .join('');
}
