import type { SseBatch, SseFrame } from '../providers/types.js';
import type { SentAnswer } from './sent-answer.js';
import { Stitcher, type UsageSum } from './stitcher.js';
import type { ContinuationReason } from './stream-continue.js';

/** What became of one break of a stream, for the log line, the metrics and the stream's last comment. */
export interface ContinuationRecord {
  reason: ContinuationReason;
  /**
   * continued: another attempt took the answer up; failed: targets were tried and none did;
   * impossible: nothing could be tried (a tool call or thinking block cut, no target able to continue,
   * the continuation or attempt limit reached, the deadline passed).
   */
  outcome: 'continued' | 'failed' | 'impossible';
  /** "provider/model" whose stream broke. */
  from: string;
  /** "provider/model" that continued it. */
  to?: string;
  /** Upstream calls this continuation made. */
  attempts: number;
}

/** The attempts behind one streamed answer, kept as the stream goes (its headers left with the first attempt). */
export class StreamTrace {
  readonly continuations: ContinuationRecord[] = [];

  constructor(
    /** Upstream calls made for the request so far, continuations included. */
    public attempts: number,
  ) {}

  /** One SSE comment line (SDKs skip comments) naming the attempts, for the end of a continued stream. */
  comment(): string {
    const parts = this.continuations.map((c) => `${c.reason} on ${c.from}: ${c.outcome}${c.to ? ` on ${c.to}` : ''} (${c.attempts} attempt${c.attempts === 1 ? '' : 's'})`);
    return `x-bf-attempts: ${this.attempts}; continuations: ${parts.join(', ')}`;
  }
}

/**
 * Opens the continuation of an answer whose stream broke with `err`: resolves with its events
 * (already past their first content) and the whitespace its prefix lost; rejects with `err`
 * itself when the answer cannot be continued, so the client gets the original failure.
 */
export type Continuer = (err: unknown) => Promise<{ events: AsyncIterable<SseBatch>; trimmed: string }>;

/**
 * A stream that survives breaks: it relays the first attempt's events, telling `sent` and `usage`
 * of each, and when the stream fails asks `continuer` for a continuation, whose events it puts
 * into the same stream (Stitcher). It fails with the original error when no continuation can be
 * had. The first attempt's batches go through as they are; only a continuation's are rebuilt.
 */
export class ContinuingStream implements AsyncIterableIterator<SseBatch> {
  private source: AsyncIterator<SseBatch>;
  private stitcher: Stitcher | undefined;
  private readonly onValue = (r: IteratorResult<SseBatch>): IteratorResult<SseBatch> | Promise<IteratorResult<SseBatch>> => {
    if (r.done) return r;
    const batch = r.value;
    const stitcher = this.stitcher;
    if (stitcher === undefined) {
      for (let i = 0; i < batch.length; i++) {
        const frame = batch[i]!;
        this.sent.observe(frame);
        const event = frame.event;
        if (event === 'message_start' || event === 'message_delta') this.usage.note(frame);
      }
      return r;
    }
    const out: SseFrame[] = [];
    for (let i = 0; i < batch.length; i++) stitcher.map(batch[i]!, out);
    // A batch of nothing the client is shown (the continuation's message_start, a skipped block): read on.
    return out.length > 0 ? { done: false, value: out } : this.next();
  };
  private readonly onError = async (err: unknown): Promise<IteratorResult<SseBatch>> => {
    const next = await this.continuer(err);
    this.source = next.events[Symbol.asyncIterator]();
    this.stitcher = new Stitcher(this.sent, this.usage, next.trimmed);
    return this.next();
  };

  constructor(
    first: AsyncIterable<SseBatch>,
    private readonly sent: SentAnswer,
    private readonly usage: UsageSum,
    private readonly continuer: Continuer,
  ) {
    this.source = first[Symbol.asyncIterator]();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<SseBatch>> {
    return this.source.next().then(this.onValue, this.onError);
  }

  async return(): Promise<IteratorResult<SseBatch>> {
    await this.source.return?.();
    return { done: true, value: undefined };
  }
}
