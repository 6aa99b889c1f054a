import type { SseFrame } from '../providers/types.js';

/** The kind of block the client has open. */
const enum Open {
  None,
  Text,
  /** A thinking block: its signature cannot be continued, so a break inside it ends the stream. */
  Thinking,
  /** A tool call (its arguments half sent) or any other block that cannot be continued. */
  Other,
}

/**
 * How many text pieces are gathered before they are joined into one string. A piece is sliced out
 * of its event, and V8 keeps a slice's whole parent alive (the event, often the whole upstream
 * chunk it came in): a slow stream gets one chunk per delta, so each piece kept unjoined holds a
 * few hundred bytes for 20 or 30 characters of text. Joining copies the text and lets the chunks go.
 */
const JOIN_EVERY = 16;

/**
 * What the client of a stream has been sent, kept so that a stream that breaks mid-answer can be
 * continued: the text of its text blocks (the continuation's prefix), the block it has open, the
 * next block index, and whether the answer is one that can be continued at all.
 *
 * It watches every event of the stream, so each costs O(1) and no parsing in the common case: a
 * text delta in the compact form the gateway and Anthropic both write has its text sliced out
 * (still JSON-escaped; it is unescaped once, if a continuation needs it); block starts and stops,
 * rare, are parsed. The text kept is bounded by `maxChars`: past it the answer is no longer
 * continued (the memory a stream holds stays bounded).
 */
export class SentAnswer {
  /** The first block index not used yet. */
  nextIndex = 0;
  /** Index of the block the client has open, or -1. */
  openIndex = -1;
  private open = Open.None;
  /** A block that cannot be continued was sent (a tool call, a server tool's result), or the text outgrew the limit. */
  private blocked = false;
  private why = '';
  /** The text so far, JSON-escaped: `flat` plus the pieces not yet joined. */
  private flat = '';
  private pieces: string[] = [];
  private chars = 0;
  /** Characters of content the current attempt produced (for its output estimate). */
  private attemptChars = 0;

  constructor(private readonly maxChars: number) {}

  /** Whether the answer so far can be continued; `reason` says why not. */
  get continuable(): boolean {
    return !this.blocked && this.open !== Open.Thinking && this.open !== Open.Other;
  }

  /** Why the answer cannot be continued ('' when it can). */
  get reason(): string {
    if (this.blocked) return this.why;
    if (this.open === Open.Thinking) return 'it broke inside a thinking block';
    if (this.open === Open.Other) return 'it broke inside a tool call';
    return '';
  }

  /** The client has a text block open (a continuation's text goes on in it). */
  get textOpen(): boolean {
    return this.open === Open.Text;
  }

  /** One event the client was sent. Only content events matter; usage is read elsewhere. */
  observe(frame: SseFrame): void {
    const event = frame.event;
    if (event === 'content_block_delta') {
      if (this.open === Open.Text) this.textDelta(frame.data);
      else if (this.open === Open.Thinking) this.attemptChars += Math.max(0, frame.data.length - DELTA_OVERHEAD);
    } else if (event === 'content_block_start') {
      this.blockStart(frame.data);
    } else if (event === 'content_block_stop') {
      if (this.open === Open.Other) this.block('a tool call (or another block that cannot be continued) was sent');
      this.open = Open.None;
      this.openIndex = -1;
    }
  }

  /** The text sent so far, unescaped. */
  text(): string {
    if (this.pieces.length > 0) this.join();
    return JSON.parse(`"${this.flat}"`) as string;
  }

  /** Characters of content the current attempt sent; starts again at 0. */
  takeAttemptChars(): number {
    const chars = this.attemptChars;
    this.attemptChars = 0;
    return chars;
  }

  private blockStart(data: string): void {
    let block: { index?: unknown; content_block?: { type?: unknown; text?: unknown } };
    try {
      block = JSON.parse(data);
    } catch {
      return; // the guard lets no malformed event through
    }
    const index = typeof block.index === 'number' ? block.index : this.nextIndex;
    this.openIndex = index;
    this.nextIndex = Math.max(this.nextIndex, index + 1);
    const type = block.content_block?.type;
    if (type === 'text') {
      this.open = Open.Text;
      const initial = block.content_block?.text;
      if (typeof initial === 'string' && initial !== '') this.addPiece(JSON.stringify(initial).slice(1, -1));
    } else if (type === 'thinking' || type === 'redacted_thinking') {
      this.open = Open.Thinking;
    } else {
      this.open = Open.Other;
    }
  }

  private textDelta(data: string): void {
    let piece = compactTextPiece(data);
    if (piece === undefined) {
      let delta: { delta?: { type?: unknown; text?: unknown } };
      try {
        delta = JSON.parse(data);
      } catch {
        return;
      }
      // citations_delta and other annotations carry no text of the answer.
      if (delta.delta?.type !== 'text_delta' || typeof delta.delta.text !== 'string') return;
      piece = JSON.stringify(delta.delta.text).slice(1, -1);
    }
    this.addPiece(piece);
  }

  private addPiece(piece: string): void {
    if (this.blocked) return;
    this.attemptChars += piece.length;
    this.chars += piece.length;
    if (this.chars > this.maxChars) {
      this.block(`its text is longer than ${this.maxChars} characters (limits.max_continuation_chars)`);
      return;
    }
    this.pieces.push(piece);
    if (this.pieces.length >= JOIN_EVERY) this.join();
  }

  private join(): void {
    this.flat += this.pieces.join('');
    this.pieces.length = 0;
  }

  private block(why: string): void {
    if (this.blocked) return;
    this.blocked = true;
    this.why = why;
    this.flat = '';
    this.pieces = [];
  }
}

/** Characters of a compact delta event that are not content (its type, index and field names). */
const DELTA_OVERHEAD = 80;

/** The start of a compact text delta, up to its text's opening quote (a regex test is several times cheaper than startsWith here). */
const TEXT_DELTA_HEAD = /^\{"type":"content_block_delta","index":\d+,"delta":\{"type":"text_delta","text":"/;
/** Characters of that start around the index digits. */
const HEAD_BEFORE_INDEX = '{"type":"content_block_delta","index":'.length;
const HEAD_AFTER_INDEX = ',"delta":{"type":"text_delta","text":"'.length;
const DELTA_TAIL = '"}}';

/**
 * The text of a text delta written compactly (`{"type":"content_block_delta","index":N,"delta":
 * {"type":"text_delta","text":"..."}}`, as JSON.stringify and Anthropic write it), still
 * JSON-escaped, without parsing; undefined for any other form (then parsed).
 */
export function compactTextPiece(data: string): string | undefined {
  if (!TEXT_DELTA_HEAD.test(data) || !data.endsWith(DELTA_TAIL)) return undefined;
  let i = HEAD_BEFORE_INDEX;
  while (data.charCodeAt(i) !== 44 /* , */) i++;
  const from = i + HEAD_AFTER_INDEX;
  const end = data.length - DELTA_TAIL.length;
  if (from > end) return undefined;
  // A quote that is not escaped would end the string early: other fields follow, not this form.
  for (let q = data.indexOf('"', from); q !== -1 && q < end; q = data.indexOf('"', q + 1)) {
    let backslashes = 0;
    for (let b = q - 1; b >= from && data.charCodeAt(b) === 92; b--) backslashes++;
    if (backslashes % 2 === 0) return undefined;
  }
  return data.slice(from, end);
}
