import { DONE, networkError, type UpstreamBody, type UpstreamTarget } from './transport.js';
import type { SseBatch, SseFrame } from './types.js';
import type { CancelSignal } from '../cancel.js';

/** What a relay makes of an upstream body: the Anthropic events of each chunk, and of the body's end. */
export interface ChunkDecoder {
  /** Appends the events of one chunk to `out`. May throw after appending some: those are still delivered. */
  chunk(bytes: Buffer, out: SseFrame[]): void;
  /** The body is over: appends what is left, then throws if the stream was cut. */
  end(out: SseFrame[]): void;
  /** The answer is complete: nothing more is read, and the rest of the body is drained so the connection can be reused. */
  readonly complete: boolean;
}

/**
 * An upstream body read as batches of Anthropic events, one batch per chunk that produced any.
 * A plain iterator, not an async generator: a slow stream waits here between every two chunks,
 * and each wait in a generator kept a request, a promise and its reaction alive across it, for
 * every open stream (old enough to be promoted, then garbage).
 *
 * A socket failure, or a failure of the decoder, is thrown as a classified error (networkError);
 * when the decoder failed part-way through a chunk, what it produced before is delivered first and
 * the failure is thrown by the next read. Once the answer is complete, or the consumer stops
 * early (`return`), the body is released: drained for reuse when complete, else closed.
 */
export class ChunkRelay implements AsyncIterableIterator<SseBatch> {
  private closed = false;
  /** A failure found behind events that were delivered first: the next read throws it. */
  private failure: unknown;
  private readonly onChunk = (r: IteratorResult<Buffer>): IteratorResult<SseBatch> | Promise<IteratorResult<SseBatch>> =>
    this.decode(r) ?? this.readOn();
  private readonly onError = (err: unknown): never => {
    throw this.failed(err);
  };

  constructor(
    private readonly body: UpstreamBody,
    private readonly decoder: ChunkDecoder,
    private readonly target: UpstreamTarget,
    private readonly signal: CancelSignal,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<SseBatch>> {
    if (this.failure !== undefined) {
      const err = this.failure;
      this.failure = undefined;
      return Promise.reject(err);
    }
    if (this.closed) return Promise.resolve(DONE);
    return this.body.read().then(this.onChunk, this.onError);
  }

  /** A read's batch; undefined when the chunk produced nothing and the next one is to be read. */
  private decode(r: IteratorResult<Buffer>): IteratorResult<SseBatch> | undefined {
    if (this.closed) return DONE; // returned meanwhile
    const out: SseFrame[] = [];
    try {
      if (r.done) this.decoder.end(out);
      else this.decoder.chunk(r.value, out);
    } catch (err) {
      const failure = this.failed(err);
      if (out.length === 0) throw failure;
      this.failure = failure;
      return { done: false, value: out };
    }
    if (r.done || this.decoder.complete) this.close();
    if (out.length > 0) return { done: false, value: out };
    return this.closed ? DONE : undefined;
  }

  /**
   * Reads on past chunks that produce nothing (an event split over many chunks, an answer read on
   * for its usage only) inside one promise, rather than a promise adopting the next read's for each.
   */
  private readOn(): Promise<IteratorResult<SseBatch>> {
    return new Promise((resolve, reject) => {
      const fail = (err: unknown): void => reject(this.failed(err));
      const step = (r: IteratorResult<Buffer>): void => {
        let result: IteratorResult<SseBatch> | undefined;
        try {
          result = this.decode(r);
        } catch (err) {
          reject(err);
          return;
        }
        if (result !== undefined) resolve(result);
        else this.body.read().then(step, fail);
      };
      this.body.read().then(step, fail);
    });
  }

  /** The consumer stopped early: a read under way ends, and the connection is closed unless the answer was complete. */
  return(): Promise<IteratorResult<SseBatch>> {
    this.failure = undefined;
    this.close();
    return Promise.resolve(DONE);
  }

  /** A failure of the body or the decoder, classified; the relay is closed. */
  private failed(err: unknown): unknown {
    this.close();
    return networkError(err, this.target, this.signal);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.body.release(this.decoder.complete);
  }
}
