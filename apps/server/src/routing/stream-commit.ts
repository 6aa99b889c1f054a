import { MAX_UPSTREAM_ANSWER } from '../providers/transport.js';
import { badUpstreamResponse } from '../providers/upstream-error.js';
import type { SseBatch, SseFrame } from '../providers/types.js';
import type { GuardedStream, GuardTarget } from './stream-guard.js';

/**
 * Reads a stream up to its first content event and returns what it read (with the rest of the batch
 * that event came in). Until then nothing has
 * reached the client, so any failure (thrown here) can still be retried or sent to a fallback.
 */
export async function readUntilContent(stream: GuardedStream, target: GuardTarget): Promise<SseFrame[]> {
  const head: SseFrame[] = [];
  let chars = 0;
  while (!stream.sawContent) {
    const r = await stream.next();
    if (r.done) throw badUpstreamResponse(target, 'the upstream stream ended before any content');
    for (const frame of r.value) {
      head.push(frame);
      chars += frame.data.length;
    }
    if (!stream.sawContent && (head.length > MAX_HEAD_EVENTS || chars > MAX_HEAD_CHARS)) {
      throw badUpstreamResponse(target, `the upstream sent more than ${MAX_HEAD_EVENTS} events or ${MAX_HEAD_CHARS} characters before any content`);
    }
  }
  return head;
}

/**
 * What is held of a stream before its first content event, at most: an answer opens with
 * message_start, perhaps pings, and a block's start (a server tool's result comes whole in its
 * start, and a fetched document can be large), so these leave room for any real opening and none for
 * an upstream that sends pings or message_start events without end.
 */
export const MAX_HEAD_EVENTS = 1_000;
export const MAX_HEAD_CHARS = MAX_UPSTREAM_ANSWER;

export interface CommittedStreamHooks {
  /** The stream failed after content reached the client. */
  onError?(err: unknown): void;
  /** Always, once: `completed` is false when the stream failed or the consumer stopped early. */
  onEnd(completed: boolean): void;
}

/**
 * The frames read before commit (as one batch), then the rest of the stream. A plain iterator rather
 * than an async generator: it passes the guard's own promise on instead of awaiting and re-yielding
 * each batch (a generator's `yield` costs extra promise hops per item).
 */
export function committedStream(head: SseFrame[], rest: GuardedStream, hooks: CommittedStreamHooks): AsyncIterableIterator<SseBatch> {
  return new CommittedStream(head, rest, hooks);
}

class CommittedStream implements AsyncIterableIterator<SseBatch> {
  private headSent = false;
  private ended = false;
  private readonly onValue = (r: IteratorResult<SseBatch>): IteratorResult<SseBatch> => {
    if (r.done) this.end(true);
    return r;
  };
  private readonly onError = (err: unknown): never => {
    if (!this.ended) {
      this.hooks.onError?.(err);
      this.end(false);
    }
    throw err;
  };

  constructor(
    private readonly head: SseFrame[],
    private readonly rest: GuardedStream,
    private readonly hooks: CommittedStreamHooks,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<SseBatch>> {
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    if (!this.headSent) {
      this.headSent = true;
      if (this.head.length > 0) return Promise.resolve({ done: false, value: this.head });
    }
    return this.rest.next().then(this.onValue, this.onError);
  }

  /** The consumer stopped early: the rest is released and the stream ends uncompleted. */
  async return(): Promise<IteratorResult<SseBatch>> {
    if (!this.ended) {
      try {
        await this.rest.return();
      } finally {
        this.end(false);
      }
    }
    return { done: true, value: undefined };
  }

  private end(completed: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.hooks.onEnd(completed);
  }
}
