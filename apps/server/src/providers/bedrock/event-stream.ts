import { EventStreamCodec, getChunkedStream } from '@smithy/core/event-streams';

/** One decoded event-stream message: its `:message-type`, `:event-type` / `:exception-type`, and payload. */
export interface EventStreamMessage {
  /** `event`, `exception` or `error`. */
  messageType: string;
  /** `:event-type` for events (`chunk`, `messageStart`, ...), `:exception-type` for exceptions, `:error-code` for errors. */
  name: string;
  payload: Uint8Array;
  /** `:error-message` of an `error` message. */
  errorMessage?: string;
}

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);

/**
 * Bedrock's binary `application/vnd.amazon.eventstream` → messages, with the AWS SDK's own framing
 * (getChunkedStream reassembles messages split across chunks) and codec (checks both CRCs). A
 * corrupt frame, or a body that ends inside a frame, throws.
 */
export async function* decodeEventStream(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<EventStreamMessage> {
  for await (const frame of getChunkedStream(chunks)) {
    const message = codec.decode(frame);
    const h = message.headers;
    const messageType = String(h[':message-type']?.value ?? 'event');
    const name = String((messageType === 'exception' ? h[':exception-type'] : messageType === 'error' ? h[':error-code'] : h[':event-type'])?.value ?? '');
    yield { messageType, name, payload: message.body, errorMessage: h[':error-message'] ? String(h[':error-message'].value) : undefined };
  }
}
