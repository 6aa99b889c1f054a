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
 * Network chunks → whole messages, each the bytes its length prelude announces. The length is
 * checked as soon as its four bytes are in, so an upstream that claims 4 GB gets no 4 GB buffer;
 * then the message's buffer is made once, at that length, and each chunk copied into it (a message
 * that arrived whole in one chunk is passed on without a copy). However the bytes are cut, even one
 * a read, what is held is the message's own size.
 */
export async function* eventStreamFrames(chunks: AsyncIterable<Uint8Array>, maxMessage = MAX_EVENT_STREAM_MESSAGE): AsyncGenerator<Buffer> {
  const prelude = Buffer.alloc(4);
  let preludeBytes = 0;
  /** The message being filled, and how much of it has come. */
  let frame: Buffer | undefined;
  let filled = 0;
  for await (const chunk of chunks) {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let at = 0;
    while (at < bytes.length) {
      if (frame === undefined) {
        if (preludeBytes === 0 && bytes.length - at >= 4) {
          const length = checkedLength(bytes.readUInt32BE(at), maxMessage);
          if (bytes.length - at >= length) {
            yield bytes.subarray(at, at + length);
            at += length;
            continue;
          }
          frame = Buffer.allocUnsafe(length);
        } else {
          const take = Math.min(4 - preludeBytes, bytes.length - at);
          bytes.copy(prelude, preludeBytes, at, at + take);
          preludeBytes += take;
          at += take;
          if (preludeBytes < 4) break;
          frame = Buffer.allocUnsafe(checkedLength(prelude.readUInt32BE(0), maxMessage));
          prelude.copy(frame, 0);
          filled = 4;
          preludeBytes = 0;
          continue;
        }
      }
      const take = Math.min(frame.length - filled, bytes.length - at);
      bytes.copy(frame, filled, at, at + take);
      filled += take;
      at += take;
      if (filled === frame.length) {
        const whole = frame;
        frame = undefined;
        filled = 0;
        yield whole;
      }
    }
  }
  if (frame !== undefined || preludeBytes > 0) {
    throw new Error(`the body ended inside a message (${frame === undefined ? preludeBytes : filled} bytes of it${frame === undefined ? '' : ` of ${frame.length}`})`);
  }
}

function checkedLength(length: number, maxMessage: number): number {
  if (length < MIN_EVENT_STREAM_MESSAGE) throw new Error(`a message's prelude gives a length of ${length} bytes, shorter than the prelude and checksum alone (${MIN_EVENT_STREAM_MESSAGE})`);
  if (length > maxMessage) throw new Error(`a message's prelude gives a length of ${length} bytes, over the limit of ${maxMessage}`);
  return length;
}
