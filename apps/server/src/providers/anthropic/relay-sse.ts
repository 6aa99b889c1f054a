import { ChunkRelay, type ChunkDecoder } from '../chunk-relay.js';
import { SseParser } from '../sse-parser.js';
import type { UpstreamBody, UpstreamTarget } from '../transport.js';
import type { SseBatch, SseFrame } from '../types.js';
import { badUpstreamResponse } from '../upstream-error.js';
import type { CancelSignal } from '../../cancel.js';

/**
 * Relays Anthropic SSE as it arrives, one batch per upstream chunk. A stream that ends without
 * `message_stop` (or an upstream `error` event) was cut: it throws, so the client never sees a
 * truncated answer end cleanly.
 */
export function relaySse(body: UpstreamBody, target: UpstreamTarget, signal: CancelSignal): AsyncIterableIterator<SseBatch> {
  return new ChunkRelay(body, new AnthropicSse(target), target, signal);
}

class AnthropicSse implements ChunkDecoder {
  complete = false;
  private readonly parser = new SseParser();

  constructor(private readonly target: UpstreamTarget) {}

  chunk(bytes: Buffer, out: SseFrame[]): void {
    this.take(this.parser.push(bytes), out);
  }

  end(out: SseFrame[]): void {
    this.take(this.parser.flush(), out);
    if (!this.complete) throw badUpstreamResponse(this.target, 'the upstream stream ended before message_stop');
  }

  /** A chunk's events go on whole; after the one with message_stop (or `error`) nothing more is read. */
  private take(events: SseFrame[], out: SseFrame[]): void {
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      out.push(ev);
      if (ev.event === 'message_stop' || ev.event === 'error') this.complete = true;
    }
  }
}
