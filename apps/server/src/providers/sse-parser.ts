import { isAscii } from 'node:buffer';
import { AnswerTooLarge, MAX_UPSTREAM_ANSWER } from './transport.js';

/** A chunk at least this long is held as a piece of its own; shorter ones are gathered first. */
const MORE_PIECE = 4096;
/** Short chunks gathered at most before they are joined. */
const MORE_SMALL = 256;

/** A parsed server-sent event. `event` is "message" when the frame had no event line. */
export interface ParsedSseEvent {
  event: string;
  data: string;
}

/**
 * Incremental SSE parser: feed it chunks as they arrive, get back the complete events.
 * Handles \n, \r\n and \r line ends (also a \r\n split across two chunks), multi-line data (joined
 * with \n, as the SSE spec says), comments and events split across chunks.
 */
export class SseParser {
  /** The unfinished event as the last scan left it. */
  private buffer = '';
  /**
   * Chunks that came after it with no event end in them: kept apart, not joined, so an event that
   * spans many chunks is scanned and copied once when it ends, not once per chunk.
   */
  private more: string[] = [];
  /**
   * Short chunks after those, gathered until they make a piece of MORE_PIECE characters (or
   * MORE_SMALL of them): an event dribbled a byte a read would otherwise cost a string and a slot
   * per byte, many times its size.
   */
  private small: string[] = [];
  private smallChars = 0;
  /** Characters of the unfinished event (buffer, more and small). */
  private pendingChars = 0;
  /** The last chunk ended with \r: it is a line end whether or not the next chunk starts with \n. */
  private pendingCR = false;
  /**
   * Made on the first chunk that is not all ASCII: most streams never need one, and each holds a
   * native converter, which 2,000 open streams would pay for 2,000 times.
   */
  private decoder: TextDecoder | undefined;
  /** The decoder holds no partial character: the last chunk it saw ended with an ASCII byte. */
  private decoderIdle = true;

  /** `maxEventChars`: the longest event (its unfinished text) held; past it push throws AnswerTooLarge. */
  constructor(private readonly maxEventChars = MAX_UPSTREAM_ANSWER) {}

  push(chunk: Uint8Array | string): ParsedSseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.decode(chunk);
    if (this.pendingCR && text !== '') {
      this.pendingCR = false;
      // The \r already counted as a line end; a \n right after it completes the same one.
      if (text.charCodeAt(0) === 10) text = text.slice(1);
    }
    if (text.includes('\r')) {
      // A \r at the very end may be the first half of a \r\n: it ends the line now, and a \n
      // that opens the next chunk is dropped rather than read as a second (blank) line.
      if (text.charCodeAt(text.length - 1) === 13) this.pendingCR = true;
      text = text.replace(/\r\n?/g, '\n');
    }
    if (text === '') return [];
    if (this.buffer !== '') {
      const last = this.small.length > 0 ? this.small[this.small.length - 1]! : this.more.length > 0 ? this.more[this.more.length - 1]! : this.buffer;
      const endsHere = text.indexOf('\n\n') !== -1 || (last.charCodeAt(last.length - 1) === 10 && text.charCodeAt(0) === 10);
      if (!endsHere) {
        this.hold(this.pendingChars + text.length);
        this.keep(text);
        return [];
      }
    }
    const buffer = this.buffer === '' ? text : this.pending() + text;
    const events: ParsedSseEvent[] = [];
    // Walks the buffer with a cursor and keeps only the unfinished tail, instead of re-slicing the
    // buffer after every event (an upstream chunk often holds dozens of events).
    let start = 0;
    let boundary: number;
    while ((boundary = buffer.indexOf('\n\n', start)) !== -1) {
      const ev = parseBlock(buffer.slice(start, boundary));
      if (ev) events.push(ev);
      start = boundary + 2;
    }
    this.buffer = start === 0 ? buffer : buffer.slice(start);
    if (this.more.length > 0) this.more = [];
    if (this.small.length > 0) this.dropSmall();
    this.hold(this.buffer.length);
    return events;
  }

  /** Holds `text`, a chunk of the unfinished event, apart from what came before it. */
  private keep(text: string): void {
    if (text.length >= MORE_PIECE) {
      this.gatherSmall();
      this.more.push(text);
      return;
    }
    this.small.push(text);
    this.smallChars += text.length;
    if (this.smallChars >= MORE_PIECE || this.small.length >= MORE_SMALL) this.gatherSmall();
  }

  /** The short chunks, joined into one piece of `more`. */
  private gatherSmall(): void {
    if (this.small.length === 0) return;
    this.more.push(this.small.length === 1 ? this.small[0]! : this.small.join(''));
    this.dropSmall();
  }

  private dropSmall(): void {
    this.small = [];
    this.smallChars = 0;
  }

  /** The unfinished event's text, joined. */
  private pending(): string {
    this.gatherSmall();
    return this.more.length === 0 ? this.buffer : this.buffer + this.more.join('');
  }

  private hold(chars: number): void {
    this.pendingChars = chars;
    if (chars > this.maxEventChars) {
      throw new AnswerTooLarge(`one event of the upstream's stream is larger than ${this.maxEventChars} characters`);
    }
  }

  /**
   * An all-ASCII chunk (most of a stream, even in other languages the JSON keys and punctuation are
   * ASCII) is read as Latin-1, which is the same text and about ten times cheaper than the UTF-8
   * decoder. Anything else goes through the streaming decoder, which keeps a character split
   * across chunks whole.
   */
  private decode(chunk: Uint8Array): string {
    if (chunk.length === 0) return '';
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const idle = this.decoderIdle;
    this.decoderIdle = bytes[bytes.length - 1]! < 0x80;
    if (idle && isAscii(bytes)) return bytes.toString('latin1');
    this.decoder ??= new TextDecoder();
    return this.decoder.decode(bytes, { stream: true });
  }

  /** Whatever complete event remains when the stream ends without a trailing blank line. */
  flush(): ParsedSseEvent[] {
    const rest = this.decoder === undefined ? this.pending() : this.pending() + this.decoder.decode();
    this.buffer = '';
    this.more = [];
    this.dropSmall();
    this.pendingChars = 0;
    this.pendingCR = false;
    const ev = rest.trim() ? parseBlock(rest.replace(/\r\n?/g, '\n').replace(/\n+$/, '')) : undefined;
    return ev ? [ev] : [];
  }
}

function parseBlock(block: string): ParsedSseEvent | undefined {
  // The usual blocks, `data: <one line>` (OpenAI and compatibles) and `event: <name>\ndata: <one
  // line>` (Anthropic), without splitting them into lines.
  if (block.startsWith('data: ') && block.indexOf('\n') === -1) return { event: 'message', data: block.slice(6) };
  if (block.startsWith('event: ')) {
    const nl = block.indexOf('\n');
    if (nl !== -1 && block.startsWith('data: ', nl + 1) && block.indexOf('\n', nl + 1) === -1) {
      return { event: block.slice(7, nl), data: block.slice(nl + 7) };
    }
  }
  let event = 'message';
  let data: string | undefined;
  for (const line of block.split('\n')) {
    if (line === '' || line.charCodeAt(0) === 58 /* ':' comment */) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
  }
  return data === undefined ? undefined : { event, data };
}
