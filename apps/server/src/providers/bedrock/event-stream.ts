import { EventStreamCodec } from '@smithy/core/event-streams';

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

/**
 * The largest message the format allows (the AWS SDKs refuse longer ones too). A message's first
 * four bytes say how long it is: a length over this is refused before anything is held for it.
 */
export const MAX_EVENT_STREAM_MESSAGE = 16 * 1024 * 1024;

/** The shortest message: the prelude (total length, headers length, prelude CRC) and the message CRC. */
const MIN_EVENT_STREAM_MESSAGE = 16;

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);

/**
 * Bedrock's binary `application/vnd.amazon.eventstream` → messages, with the AWS SDK's codec (it
 * checks both CRCs). A corrupt message, a length outside 16 B–`maxMessage`, or a body that ends
 * inside a message throws.
 */
export async function* decodeEventStream(chunks: AsyncIterable<Uint8Array>, maxMessage = MAX_EVENT_STREAM_MESSAGE): AsyncGenerator<EventStreamMessage> {
  for await (const frame of eventStreamFrames(chunks, maxMessage)) {
    const message = codec.decode(frame);
    const h = message.headers;
    const messageType = String(h[':message-type']?.value ?? 'event');
    const name = String((messageType === 'exception' ? h[':exception-type'] : messageType === 'error' ? h[':error-code'] : h[':event-type'])?.value ?? '');
    yield { messageType, name, payload: message.body, errorMessage: h[':error-message'] ? String(h[':error-message'].value) : undefined };
  }
}

/**
 * Network chunks → whole messages, each the bytes its length prelude announces. The pieces of a
 * message are held apart and joined once, when the last one has come (no rescans: a message over n
 * chunks costs one copy). The length is checked as soon as its four bytes are in, so an upstream
 * that claims 4 GB gets no 4 GB buffer.
 */
export async function* eventStreamFrames(chunks: AsyncIterable<Uint8Array>, maxMessage = MAX_EVENT_STREAM_MESSAGE): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let heldBytes = 0;
  /** The length of the message being read; 0 until its first four bytes are in. */
  let length = 0;
  for await (const chunk of chunks) {
    if (chunk.byteLength === 0) continue;
    held.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    heldBytes += chunk.byteLength;
    for (;;) {
      if (length === 0) {
        if (heldBytes < 4) break;
        length = totalLength(held);
        if (length < MIN_EVENT_STREAM_MESSAGE) throw new Error(`a message's prelude gives a length of ${length} bytes, shorter than the prelude and checksum alone (${MIN_EVENT_STREAM_MESSAGE})`);
        if (length > maxMessage) throw new Error(`a message's prelude gives a length of ${length} bytes, over the limit of ${maxMessage}`);
      }
      if (heldBytes < length) break;
      const all = held.length === 1 ? held[0]! : Buffer.concat(held, heldBytes);
      const rest = all.subarray(length);
      const frame = all.subarray(0, length);
      held = rest.length > 0 ? [rest] : [];
      heldBytes = rest.length;
      length = 0;
      yield frame;
    }
  }
  if (heldBytes > 0) throw new Error(`the body ended inside a message (${heldBytes} bytes of it${length > 0 ? ` of ${length}` : ''})`);
}

/** The big-endian length in the first four bytes held, which may be spread over several pieces. */
function totalLength(held: Buffer[]): number {
  if (held[0]!.length >= 4) return held[0]!.readUInt32BE(0);
  let value = 0;
  let got = 0;
  for (const piece of held) {
    for (let i = 0; i < piece.length && got < 4; i++, got++) value = value * 256 + piece[i]!;
    if (got === 4) break;
  }
  return value;
}
