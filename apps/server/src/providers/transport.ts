import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
import { GatewayError, type UpstreamFailure } from '../errors.js';
import type { ProviderTimeouts } from '../config/schema.js';
import type { CancelSignal } from '../cancel.js';

export interface TransportOptions {
  connectMs: number;
  headersMs: number;
  /** Most connections open to one origin at once; undefined: no limit. */
  maxConnections?: number;
}

/** Connect and response-header limits from a provider's `timeouts`, and its `max_connections` (schema defaults when absent). */
export function transportOptions(config: { timeouts?: Partial<ProviderTimeouts>; max_connections?: number }): TransportOptions {
  return {
    connectMs: config.timeouts?.connect_ms ?? 10_000,
    headersMs: config.timeouts?.headers_ms ?? 600_000,
    maxConnections: config.max_connections,
  };
}

/**
 * A keep-alive connection pool for one provider. One request holds one connection until its answer
 * has been read (no pipelining), so a stream holds one for as long as it lasts; the pool is not
 * capped unless the provider sets `max_connections`: a cap makes the requests past it wait inside
 * the pool for a connection to free up, which a stream only does when it ends, and that wait counts
 * against the request's timeouts.
 */
export function createDispatcher(opts: TransportOptions): Dispatcher {
  return new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    connections: opts.maxConnections ?? null,
    pipelining: 1,
    connect: { timeout: opts.connectMs },
    headersTimeout: opts.headersMs,
    // Streams are watched by the router's own idle timer; undici's would cut a slow stream silently.
    bodyTimeout: 0,
  });
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: UpstreamBody;
}

export interface UpstreamTarget {
  provider: string;
  model: string;
}

/** The result of a read at the end, shared (it holds nothing). */
export const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** Unread bytes above which the socket is paused until the reader catches up. */
const HIGH_WATER = 256 * 1024;

/**
 * An upstream response body, fed by undici's dispatch handler. Read it once: whole (`text`), or
 * chunk by chunk (`for await`; leaving the loop early does not close the connection), then let
 * go of it with `release`. A failure of the connection (reset, abort, body timeout) rejects the
 * read under way or the next one.
 *
 * It stands in for undici's `request()` body (a node Readable): building and tearing down that
 * stream and its request wrapper cost about 20 µs of CPU per upstream call here, most of what
 * the client side of a proxied request costs.
 */
export class UpstreamBody implements AsyncIterable<Buffer> {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failure: unknown;
  /** The read under way, waiting for a chunk, the end or a failure. */
  private waiting: { resolve(r: IteratorResult<Buffer>): void; reject(err: unknown): void } | undefined;
  /** Bytes still to be read and dropped after `release(true)`, or -1 while the body is being read. */
  private drainBudget = -1;
  private closed = false;

  constructor(private readonly controller: Dispatcher.DispatchController) {}

  /** @internal from the dispatch handler */
  push(chunk: Buffer): void {
    if (this.closed) return;
    if (this.drainBudget >= 0) {
      this.drainBudget -= chunk.length;
      if (this.drainBudget < 0) this.abort();
      return;
    }
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (this.queued > HIGH_WATER && !this.controller.paused) this.controller.pause();
    this.wake();
  }

  /** @internal */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** @internal */
  fail(err: unknown): void {
    if (this.ended || this.failure !== undefined) return;
    this.failure = err;
    this.wake();
  }

  /**
   * The whole body as UTF-8. With a `limit` (error bodies) reading stops past that many bytes and the
   * connection is closed; with `max` instead, a body past that many bytes throws AnswerTooLarge.
   */
  async text(limit?: number, max?: number): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of this) {
      chunks.push(chunk);
      size += chunk.length;
      if (limit !== undefined && size > limit) {
        this.release(false);
        break;
      }
      if (max !== undefined && size > max) {
        this.release(false);
        throw new AnswerTooLarge(`the upstream's answer is larger than ${max} bytes`);
      }
    }
    // Decoded once, so a character split across chunks stays whole.
    return chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8');
  }

  /**
   * Its chunks, as they arrive. A plain iterator rather than an async generator: a slow stream waits
   * here between every two chunks, and each wait in a generator left a request, a promise and its
   * reaction alive across it (old enough to be promoted, then garbage), for each open stream.
   */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return { next: () => this.read(), return: () => Promise.resolve(DONE) };
  }

  /** The next chunk, or the end (as an iterator's result); rejects with the connection's failure. */
  read(): Promise<IteratorResult<Buffer>> {
    let result: IteratorResult<Buffer> | undefined;
    try {
      result = this.take();
    } catch (err) {
      return Promise.reject(err);
    }
    if (result !== undefined) return Promise.resolve(result);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  /** The next chunk, or the end; undefined while there is neither yet. Throws the connection's failure. */
  private take(): IteratorResult<Buffer> | undefined {
    const chunk = this.queue.shift();
    if (chunk !== undefined) {
      this.queued -= chunk.length;
      if (this.controller.paused && this.queued <= HIGH_WATER / 2) this.controller.resume();
      return { done: false, value: chunk };
    }
    if (this.failure !== undefined) throw this.failure;
    if (this.ended || this.closed || this.drainBudget >= 0) return DONE;
    return undefined;
  }

  /**
   * Lets go of the body. A finished exchange (`reusable`) is read to its end in the background so
   * the keep-alive connection can be reused (up to a limit, then closed); otherwise the connection
   * is closed at once.
   */
  release(reusable: boolean): void {
    this.queue.length = 0;
    this.queued = 0;
    if (this.ended || this.failure !== undefined || this.closed) return;
    if (!reusable) {
      this.abort();
      return;
    }
    this.drainBudget = DRAIN_LIMIT;
    this.wake();
    if (this.controller.paused) this.controller.resume();
  }

  private abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    this.controller.abort(new Error('upstream body released'));
  }

  /** Settles the read under way, if there is one and something to settle it with. */
  private wake(): void {
    const waiting = this.waiting;
    if (waiting === undefined) return;
    this.waiting = undefined;
    let result: IteratorResult<Buffer> | undefined;
    try {
      result = this.take();
    } catch (err) {
      waiting.reject(err);
      return;
    }
    if (result === undefined) this.waiting = waiting;
    else waiting.resolve(result);
  }
}

/** Largest remainder read before giving up on reusing the connection. */
const DRAIN_LIMIT = 64 * 1024;

/** "http://host:port/base/path?q" → origin and path, as undici's dispatch takes them (cached: a provider posts to a handful of URLs). */
const splitUrls = new Map<string, { origin: string; path: string }>();
function splitUrl(url: string): { origin: string; path: string } {
  let split = splitUrls.get(url);
  if (split === undefined) {
    const u = new URL(url);
    split = { origin: u.origin, path: `${u.pathname}${u.search}` };
    if (splitUrls.size >= 1024) splitUrls.clear();
    splitUrls.set(url, split);
  }
  return split;
}

/**
 * A request body: text, bytes, or bytes in pieces sent one after the other (a client's body with a
 * field spliced in, without copying the rest: contract/raw-body.ts, splicedParts).
 */
export type RequestBytes = string | Buffer | readonly Buffer[];

/** The byte length of pieces sent one after the other. */
function lengthOf(parts: readonly Buffer[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

/** POSTs a JSON body; network failures become GatewayErrors the router can classify. */
export function postJson(
  dispatcher: Dispatcher,
  url: string,
  headers: Record<string, string>,
  body: RequestBytes,
  signal: CancelSignal,
  target: UpstreamTarget,
): Promise<UpstreamResponse> {
  if (signal.aborted) return Promise.reject(signal.reason);
  const { origin, path } = splitUrl(url);
  return new Promise<UpstreamResponse>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let response: UpstreamBody | undefined;
    let settled = false;
    const onAbort = (): void => {
      controller?.abort(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const finish = (): void => {
      signal.removeEventListener('abort', onAbort);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      dispatcher.dispatch(
        // Pieces go as an iterable (undici's dispatch takes one; its types do not say so), with their
        // length said up front, so the body is not chunked.
        Array.isArray(body)
          ? { origin, path, method: 'POST', headers: { ...headers, 'content-length': String(lengthOf(body)) }, body: body as unknown as Buffer }
          : { origin, path, method: 'POST', headers, body: body as string | Buffer },
        {
          onRequestStart(c) {
            controller = c;
            if (signal.aborted) onAbort();
          },
          onResponseStart(c, statusCode, resHeaders) {
            response = new UpstreamBody(c);
            settled = true;
            resolve({ status: statusCode, headers: resHeaders as UpstreamResponse['headers'], body: response });
          },
          onResponseData(_c, chunk) {
            response?.push(chunk);
          },
          onResponseEnd() {
            finish();
            response?.end();
          },
          onResponseError(_c, err) {
            finish();
            const classified = networkError(err, target, signal);
            if (!settled) {
              settled = true;
              reject(classified);
            } else {
              response?.fail(classified);
            }
          },
        },
      );
    } catch (err) {
      finish();
      reject(networkError(err, target, signal));
    }
  });
}

/** Classifies an undici / socket error. An abort by our own signal is rethrown as it is. */
export function networkError(err: unknown, target: UpstreamTarget, signal?: CancelSignal): unknown {
  if (signal?.aborted) return signal.reason ?? err;
  if (err instanceof GatewayError) return err;
  if (err instanceof AnswerTooLarge) {
    return new GatewayError(502, `${target.provider}/${target.model}: ${err.message}`, {
      type: 'api_error',
      origin: 'upstream',
      upstream: { provider: target.provider, model: target.model, kind: 'bad_response' },
    });
  }
  const code = (err as { code?: string }).code ?? '';
  const fail = (status: number, kind: UpstreamFailure['kind'], what: string) =>
    new GatewayError(status, `${target.provider}/${target.model}: ${what}`, {
      origin: 'upstream',
      upstream: { provider: target.provider, model: target.model, kind },
      cause: err,
    });
  if (err instanceof undiciErrors.ConnectTimeoutError || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return fail(504, 'timeout_connect', 'timed out connecting to the upstream');
  }
  if (err instanceof undiciErrors.HeadersTimeoutError || code === 'UND_ERR_HEADERS_TIMEOUT') {
    return fail(504, 'timeout_headers', 'the upstream did not answer in time');
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH') {
    return fail(502, 'connect', `cannot connect to the upstream (${code})`);
  }
  return fail(502, 'reset', `the upstream connection failed (${code || (err as Error).message})`);
}

/** How much of an error body is worth reading: enough for any provider's error message. */
export const MAX_ERROR_BODY = 64 * 1024;

/**
 * The most of an upstream's answer held at once: a whole JSON answer, or one event of a stream (SSE
 * text). Far past any model's output (a 128k-token answer is under 1 MB of JSON; Gemini's images come
 * inline, a few MB each); an upstream that sends more, or an event that never ends, fails the attempt
 * (502) instead of growing the gateway's memory until the request's deadline.
 */
export const MAX_UPSTREAM_ANSWER = 64 * 1024 * 1024;

/** An upstream's answer (or one event of its stream) past MAX_UPSTREAM_ANSWER; networkError makes it a 502. */
export class AnswerTooLarge extends Error {}

export function headerValue(headers: UpstreamResponse['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The longest wait an upstream's retry-after is taken for: a day. It also cools the key that got it
 * (shared through Redis when instances share it), so "retry after 100 years", or a number too long to
 * be finite, would otherwise take a key out for good.
 */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

/** Parses retry-after-ms or retry-after (seconds or HTTP date) into milliseconds, at most MAX_RETRY_AFTER_MS. */
export function retryAfterMs(headers: UpstreamResponse['headers'], now = Date.now()): number | undefined {
  const ms = headerValue(headers, 'retry-after-ms');
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return atMostADay(Number(ms));
  const ra = headerValue(headers, 'retry-after');
  if (ra === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(ra.trim())) return atMostADay(Number(ra) * 1000);
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : atMostADay(Math.max(0, date - now));
}

/** `ms` rounded up, at most MAX_RETRY_AFTER_MS (Infinity included). */
function atMostADay(ms: number): number {
  return ms >= MAX_RETRY_AFTER_MS ? MAX_RETRY_AFTER_MS : Math.ceil(ms);
}

/**
 * Reads an upstream body: cut at `limit` bytes when given (error bodies), else whole up to
 * MAX_UPSTREAM_ANSWER (past it, a 502). A socket failure while reading becomes a classified GatewayError.
 */
export async function readUpstreamText(res: UpstreamResponse, target: UpstreamTarget, signal: CancelSignal, limit?: number): Promise<string> {
  try {
    return await res.body.text(limit, limit === undefined ? MAX_UPSTREAM_ANSWER : undefined);
  } catch (err) {
    throw networkError(err, target, signal);
  }
}
