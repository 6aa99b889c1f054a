import type { Client } from './generated/client/index.js';
import type { CreateMessageRequest, MessageStreamEvent } from './generated/types.gen.js';
import { ConduitError } from './errors.js';

export interface StreamMessageOptions {
  client: Client;
  body: Omit<CreateMessageRequest, 'stream'>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * POST /anthropic/v1/messages with `stream: true`, yielding each typed event as it arrives.
 * No automatic retries: a broken stream throws (an `error` event throws a ConduitError).
 */
export async function* streamMessage(opts: StreamMessageOptions): AsyncGenerator<MessageStreamEvent> {
  const config = opts.client.getConfig();
  const headers = new Headers(config.headers as HeadersInit | undefined);
  headers.set('content-type', 'application/json');
  headers.set('accept', 'text/event-stream');
  for (const [k, v] of Object.entries(opts.headers ?? {})) headers.set(k, v);
  const doFetch = config.fetch ?? fetch;
  const res = await doFetch(`${config.baseUrl}/anthropic/v1/messages`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ ...opts.body, stream: true }),
    signal: opts.signal,
  });
  if (!res.ok || !res.body) {
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    throw new ConduitError(res.status, parsed, res.headers.get('request-id'));
  }
  const decoder = new TextDecoder();
  let buffer = '';
  let sawStop = false;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
    let at: number;
    while ((at = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (!data) continue;
      const event = JSON.parse(data) as MessageStreamEvent;
      if (event.type === 'error') throw new ConduitError(500, event, res.headers.get('request-id'));
      if (event.type === 'message_stop') sawStop = true;
      yield event;
    }
  }
  if (!sawStop) throw new ConduitError(502, { type: 'error', error: { type: 'api_error', message: 'stream ended before message_stop' } });
}
