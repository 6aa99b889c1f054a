import type { SseFrame } from '../providers/types.js';
import type { SentAnswer } from './sent-answer.js';

interface Counts {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

/**
 * The usage of an answer served by several attempts: what each attempt that was cut had used (its
 * own report, and for output at least an estimate of what it had sent: about four characters a
 * token, since a cut stream never reports its final count), plus the attempt under way. Every
 * attempt read the whole prompt and was billed for it, so input adds up too.
 */
export class UsageSum {
  private readonly prior: Counts = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
  /** The attempt under way: its `message_start` and latest `message_delta`, read only if a continuation needs them. */
  private startData: string | undefined;
  private deltaData: string | undefined;
  /** A `message_delta` reached the client: the answer is complete but for its `message_stop`. */
  delivered = false;

  /** Output tokens of the attempts that were cut (what a continuation's max_tokens is lowered by). */
  get priorOutput(): number {
    return this.prior.output;
  }

  /** An attempt's `message_start` or `message_delta` (cumulative: later values win). Kept as it is: parsing waits for a continuation. */
  note(frame: SseFrame): void {
    if (frame.event === 'message_start') this.startData = frame.data;
    else {
      this.deltaData = frame.data;
      this.delivered = true;
    }
  }

  /** The attempt under way was cut after sending `chars` characters of content: its usage is final. */
  cut(chars: number): void {
    const c = this.current();
    this.prior.input += c.input ?? 0;
    this.prior.output += Math.max(c.output ?? 0, Math.ceil(chars / 4));
    this.prior.cacheRead += c.cacheRead ?? 0;
    this.prior.cacheWrite += c.cacheWrite ?? 0;
    this.startData = undefined;
    this.deltaData = undefined;
  }

  /** The usage of the whole answer for a continuation's `message_delta` (which carried `usage`). */
  total(usage: Record<string, unknown>): Record<string, unknown> {
    const c = this.current();
    const num = (v: unknown, fallback: number | undefined) => (typeof v === 'number' ? v : (fallback ?? 0));
    return {
      ...usage,
      input_tokens: this.prior.input + num(usage.input_tokens, c.input),
      output_tokens: this.prior.output + num(usage.output_tokens, c.output),
      cache_read_input_tokens: this.prior.cacheRead + num(usage.cache_read_input_tokens, c.cacheRead),
      cache_creation_input_tokens: this.prior.cacheWrite + num(usage.cache_creation_input_tokens, c.cacheWrite),
    };
  }

  /** What the attempt under way reported: its message_start's usage, overridden by its message_delta's. */
  private current(): Partial<Counts> {
    const c: Partial<Counts> = {};
    for (const [data, inMessage] of [
      [this.startData, true],
      [this.deltaData, false],
    ] as const) {
      if (data === undefined) continue;
      let usage: Record<string, unknown> | undefined;
      try {
        const parsed = JSON.parse(data) as { usage?: Record<string, unknown>; message?: { usage?: Record<string, unknown> } };
        usage = inMessage ? parsed.message?.usage : parsed.usage;
      } catch {
        continue;
      }
      if (!usage) continue;
      if (typeof usage.input_tokens === 'number') c.input = usage.input_tokens;
      if (typeof usage.output_tokens === 'number') c.output = usage.output_tokens;
      if (typeof usage.cache_read_input_tokens === 'number') c.cacheRead = usage.cache_read_input_tokens;
      if (typeof usage.cache_creation_input_tokens === 'number') c.cacheWrite = usage.cache_creation_input_tokens;
    }
    return c;
  }
}

/** Block indexes: the continuation's → the client's; SKIP for a block the client is not shown. */
const SKIP = -1;

/**
 * Puts a continuation's events into the stream the client already has, so that it reads as one
 * well-formed message: the continuation's `message_start` is dropped (the client has one); its
 * first text block goes on in the text block the client has open (or, the client having none
 * open, starts the next index); later blocks are numbered after the client's; its thinking blocks
 * are left out (the client has the answer's reasoning already, and a signature cannot be
 * continued); its `message_delta` carries the usage of every attempt (UsageSum). Whitespace the
 * prefix lost (Anthropic refuses a prefill that ends in it) and the continuation writes again is
 * dropped once.
 *
 * Events of a block whose index does not change go through as they are.
 */
export class Stitcher {
  /** By the continuation's block index. */
  private readonly indexes: number[] = [];
  private firstBlock = true;

  constructor(
    private readonly sent: SentAnswer,
    private readonly usage: UsageSum,
    /** The whitespace taken off the end of the prefix, which the client already has. */
    private trimmed: string,
  ) {}

  /** Appends to `out` the frames the client gets for one continuation event, and tells `sent` of them. */
  map(frame: SseFrame, out: SseFrame[]): void {
    switch (frame.event) {
      case 'message_start':
        this.usage.note(frame);
        return;
      case 'content_block_start':
        this.blockStart(frame, out);
        return;
      case 'content_block_delta':
      case 'content_block_stop': {
        const index = blockIndex(frame.data);
        const to = index === undefined ? undefined : this.indexes[index];
        if (to === undefined || to === SKIP) return;
        let mapped = to === index ? frame : reindexed(frame, to);
        if (this.trimmed !== '' && frame.event === 'content_block_delta') {
          const rest = this.dropRepeatedWhitespace(mapped);
          if (rest === undefined) return;
          mapped = rest;
        }
        this.emit(mapped, out);
        return;
      }
      case 'message_delta':
        this.usage.note(frame);
        // A continuation with nothing more to say still closes the block the client has open.
        if (this.sent.openIndex !== -1) this.emit(frameOf('content_block_stop', { type: 'content_block_stop', index: this.sent.openIndex }), out);
        this.emit(withTotalUsage(frame, this.usage), out);
        return;
      default:
        out.push(frame);
    }
  }

  private blockStart(frame: SseFrame, out: SseFrame[]): void {
    const data = JSON.parse(frame.data) as { index: number; content_block?: { type?: string; text?: unknown } };
    const type = data.content_block?.type;
    if (type === 'thinking' || type === 'redacted_thinking') {
      this.indexes[data.index] = SKIP;
      return;
    }
    if (this.firstBlock) {
      this.firstBlock = false;
      if (type === 'text' && this.sent.textOpen) {
        // The rest of the text block the client has open.
        this.indexes[data.index] = this.sent.openIndex;
        const initial = data.content_block?.text;
        if (typeof initial === 'string' && initial !== '') {
          const delta = frameOf('content_block_delta', { type: 'content_block_delta', index: this.sent.openIndex, delta: { type: 'text_delta', text: initial } });
          const rest = this.trimmed !== '' ? this.dropRepeatedWhitespace(delta) : delta;
          if (rest !== undefined) this.emit(rest, out);
        }
        return;
      }
    }
    if (this.sent.openIndex !== -1) this.emit(frameOf('content_block_stop', { type: 'content_block_stop', index: this.sent.openIndex }), out);
    const to = this.sent.nextIndex;
    this.indexes[data.index] = to;
    this.emit(to === data.index ? frame : frameOf('content_block_start', { ...data, index: to }), out);
  }

  /** A text delta without the whitespace the client has already (undefined when nothing is left); other deltas as they are. */
  private dropRepeatedWhitespace(frame: SseFrame): SseFrame | undefined {
    const data = JSON.parse(frame.data) as { delta?: { type?: string; text?: unknown } };
    if (data.delta?.type !== 'text_delta' || typeof data.delta.text !== 'string') return frame;
    let text = data.delta.text;
    let n = 0;
    while (n < text.length && n < this.trimmed.length && text[n] === this.trimmed[n]) n++;
    // Only a repeat at the very start is dropped; once the text goes its own way the prefix is done with.
    this.trimmed = n > 0 && n === text.length ? this.trimmed.slice(n) : '';
    if (n === 0) return frame;
    text = text.slice(n);
    if (text === '') return undefined;
    return frameOf('content_block_delta', { ...data, delta: { ...data.delta, text } });
  }

  private emit(frame: SseFrame, out: SseFrame[]): void {
    this.sent.observe(frame);
    out.push(frame);
  }
}

function frameOf(event: string, data: unknown): SseFrame {
  return { event, data: JSON.stringify(data) };
}

/** The block index of a delta or stop event, read without parsing in the compact form. */
function blockIndex(data: string): number | undefined {
  const at = data.indexOf('"index":');
  if (at !== -1) {
    let i = at + 8;
    let n = 0;
    let digits = 0;
    for (; i < data.length; i++, digits++) {
      const c = data.charCodeAt(i);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
    }
    // `"index":` inside a text would come after the real one, which is written first.
    if (digits > 0 && at < 40) return n;
  }
  try {
    const parsed = JSON.parse(data) as { index?: unknown };
    return typeof parsed.index === 'number' ? parsed.index : undefined;
  } catch {
    return undefined;
  }
}

/** The frame with its block index changed: in place for the compact form, else parsed and written again. */
function reindexed(frame: SseFrame, index: number): SseFrame {
  const data = frame.data;
  const at = data.indexOf('"index":');
  if (at !== -1 && at < 40) {
    let end = at + 8;
    while (end < data.length && data.charCodeAt(end) >= 48 && data.charCodeAt(end) <= 57) end++;
    return { event: frame.event, data: `${data.slice(0, at + 8)}${index}${data.slice(end)}` };
  }
  return frameOf(frame.event, { ...(JSON.parse(data) as object), index });
}

function withTotalUsage(frame: SseFrame, usage: UsageSum): SseFrame {
  const data = JSON.parse(frame.data) as { usage?: Record<string, unknown> };
  return frameOf(frame.event, { ...data, usage: usage.total(data.usage ?? {}) });
}
