import { SseParser } from '../sse-parser.js';
import { networkError, type UpstreamBody, type UpstreamTarget } from '../transport.js';
import type { SseBatch } from '../types.js';
import { badUpstreamResponse } from '../upstream-error.js';

/**
 * Relays Anthropic SSE as it arrives, one batch per upstream chunk. A stream that ends without
 * `message_stop` (or an upstream `error` event) was cut: it throws, so the client never sees a
 * truncated answer end cleanly.
 */
export async function* relaySse(body: UpstreamBody, target: UpstreamTarget, signal: AbortSignal): AsyncGenerator<SseBatch> {
  const parser = new SseParser();
  let finished = false;
  try {
    // Leaving the loop at message_stop does not close the socket; finally releases it.
    for await (const chunk of body) {
      const batch = parser.push(chunk);
      if (batch.length === 0) continue;
      finished = endsStream(batch);
      yield batch;
      if (finished) return;
    }
    const rest = parser.flush();
    if (rest.length > 0) {
      finished = endsStream(rest);
      yield rest;
    }
  } catch (err) {
    throw networkError(err, target, signal);
  } finally {
    body.release(finished);
  }
  if (!finished) throw badUpstreamResponse(target, 'the upstream stream ended before message_stop');
}

function endsStream(batch: SseBatch): boolean {
  for (const ev of batch) if (ev.event === 'message_stop' || ev.event === 'error') return true;
  return false;
}
