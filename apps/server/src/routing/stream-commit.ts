import { GatewayError } from '../errors.js';
import type { SseBatch, SseFrame } from '../providers/types.js';
import type { GuardedStream, GuardTarget } from './stream-guard.js';

/**
 * Reads a stream up to its first content event and returns what it read (with the rest of the batch
 * that event came in). Until then nothing has
 * reached the client, so any failure (thrown here) can still be retried or sent to a fallback.
 */
export async function readUntilContent(stream: GuardedStream, target: GuardTarget): Promise<SseFrame[]> {
  const head: SseFrame[] = [];
  while (!stream.sawContent) {
    const r = await stream.next();
    if (r.done) {
      throw new GatewayError(502, `${target.provider}/${target.model}: the upstream stream ended before any content`, {
        type: 'api_error',
        origin: 'upstream',
        upstream: { ...target, kind: 'bad_response' },
      });
    }
    for (const frame of r.value) head.push(frame);
  }
  return head;
}

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
