/** Bedrock's binary event stream (`application/vnd.amazon.eventstream`), encoded with the AWS SDK's own codec. */
import { EventStreamCodec } from '@smithy/core/event-streams';

export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);

/** One event-stream message: string headers, a payload (JSON text or bytes); prelude and CRCs by the codec. */
export function eventStreamFrame(headers: Record<string, string>, payload: string | Uint8Array): Uint8Array {
  const typed: Record<string, { type: 'string'; value: string }> = {};
  for (const [name, value] of Object.entries(headers)) typed[name] = { type: 'string', value };
  return codec.encode({ headers: typed, body: typeof payload === 'string' ? new Uint8Array(Buffer.from(payload, 'utf8')) : payload });
}

/** Decodes whole frames (for tests that read what a fake sent). */
export function decodeEventStreamFrame(frame: Uint8Array): { headers: Record<string, string>; payload: string } {
  const message = codec.decode(frame);
  const headers: Record<string, string> = {};
  for (const [name, h] of Object.entries(message.headers)) headers[name] = String(h.value);
  return { headers, payload: Buffer.from(message.body).toString('utf8') };
}

/**
 * Bedrock pads every event payload with a `p` field of varying length (so sizes do not reveal the
 * content); clients must ignore it. The fakes do the same.
 */
function padding(seed: number): string {
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return letters.slice(0, 4 + (seed % 40));
}

/** An InvokeModelWithResponseStream `chunk` event: one Anthropic stream event, base64 in `bytes`. */
export function bedrockChunkFrame(event: unknown, seq = 0): Uint8Array {
  const json = typeof event === 'string' ? event : JSON.stringify(event);
  const payload = JSON.stringify({ bytes: Buffer.from(json, 'utf8').toString('base64'), p: padding(seq) });
  return eventStreamFrame({ ':event-type': 'chunk', ':content-type': 'application/json', ':message-type': 'event' }, payload);
}

/** A Converse stream event (`messageStart`, `contentBlockDelta`, `metadata`, ...). */
export function converseEventFrame(eventType: string, payload: Record<string, unknown>, seq = 0): Uint8Array {
  return eventStreamFrame({ ':event-type': eventType, ':content-type': 'application/json', ':message-type': 'event' }, JSON.stringify({ ...payload, p: padding(seq) }));
}

/**
 * An exception inside the stream, as Bedrock sends it after a 200: `:message-type exception` and
 * the exception's name in camel case (`throttlingException`, `modelStreamErrorException`, ...).
 */
export function bedrockExceptionFrame(exceptionType: string, message: string, extra: Record<string, unknown> = {}): Uint8Array {
  return eventStreamFrame(
    { ':exception-type': exceptionType, ':content-type': 'application/json', ':message-type': 'exception' },
    JSON.stringify({ message, ...extra }),
  );
}
