import { JSON_STRING_PATTERN } from '../contract/json-bytes.js';
import { GatewayError, type UpstreamFailure } from '../errors.js';
import type { ErrorType } from '../generated/types.gen.js';
import type { SseBatch, SseFrame } from '../providers/types.js';

export interface GuardTarget {
  provider: string;
  model: string;
}

export interface StreamGuardOptions {
  target: GuardTarget;
  /** Epoch ms by which the first content event must have arrived, and the limit it came from (for the message). */
  firstTokenBy: number;
  firstTokenMs: number;
  /** Longest silence between two events once content flows. */
  idleMs: number;
  /** Epoch ms: the overall deadline, and the limit it came from. */
  deadline: number;
  totalMs: number;
  /** Called with the timeout error when a limit passes; it must abort the upstream request. */
  onTimeout(err: GatewayError): void;
  now?: () => number;
  /** The provider built every frame itself (StreamResult.wellFormed): only `error` events are parsed. */
  wellFormed?: boolean;
}

/** Events that carry nothing of the answer yet: a stream may still be retried elsewhere after them. */
const BEFORE_CONTENT = new Set(['message_start', 'ping', 'content_block_start']);

type TimeoutKind = Extract<UpstreamFailure['kind'], `timeout_${string}`>;

export function timeoutError(target: GuardTarget, kind: TimeoutKind, ms: number): GatewayError {
  const what: Record<TimeoutKind, string> = {
    timeout_connect: 'could not connect',
    timeout_headers: 'sent no response headers',
    timeout_first_token: 'sent no content',
    timeout_idle: 'went silent mid-stream',
    timeout_deadline: 'did not finish before the deadline',
  };
  return new GatewayError(504, `${target.provider}/${target.model}: the upstream ${what[kind]} within ${ms} ms`, {
    type: 'timeout_error',
    origin: 'upstream',
    upstream: { provider: target.provider, model: target.model, kind },
  });
}

/**
 * The watchdog every provider's event stream goes through, a batch of events at a time. Each
 * `next()` races the provider's iterator against the limit in force: the first-token limit until a content event arrived, then
 * the idle limit, and always the overall deadline. When a limit passes it aborts the upstream
 * (through `onTimeout`) and throws, even if the provider's iterator does not react to the abort.
 * It also refuses frames that are not Anthropic events (data must be JSON whose `type` is the event
 * name), so nothing garbled reaches the client, and turns an upstream `error` event into a thrown
 * GatewayError, which the router can retry before the first content and the HTTP layer renders
 * as `event: error` after it. A batch with a bad event in it is delivered up to that event; the
 * failure is thrown by the read after.
 *
 * One timer serves the whole stream: it is armed for the limit in force and, when it fires while
 * the limit has moved later (the idle limit moves with every event), re-armed for the remainder,
 * instead of a new timer and a Promise.race per event (the benchmark's profile showed those as a
 * large share of a stream's CPU). With `wellFormed` (the provider builds every frame itself with
 * JSON.stringify) the frames are not parsed again; `error` events always are.
 */
export class GuardedStream implements AsyncIterableIterator<SseBatch> {
  /** A content event (anything past message_start / ping / content_block_start) has been returned. */
  sawContent = false;
  private finished = false;
  /** A bad event found behind good ones in the last batch: the next read throws it. */
  private failure: unknown;
  private readonly source: AsyncIterator<SseBatch>;
  private readonly now: () => number;
  private readonly wellFormed: boolean;
  /** The limit in force for the read under way. */
  private limitAt = 0;
  private limitKind: TimeoutKind = 'timeout_deadline';
  private limitMs = 0;
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires. */
  private timerAt = 0;
  /** The read under way: settled by the source's answer or by the timer, whichever comes first. */
  private waiting: { resolve(r: IteratorResult<SseBatch>): void; reject(err: unknown): void } | undefined;
  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.waiting === undefined || this.finished) return;
    // Reckoned on the clock the limits were set with: the timer fired at timerAt.
    if (this.timerAt < this.limitAt) {
      this.arm(this.timerAt);
      return;
    }
    const waiting = this.waiting;
    this.waiting = undefined;
    this.finish();
    const err = timeoutError(this.opts.target, this.limitKind, this.limitMs);
    this.opts.onTimeout(err);
    this.source.return?.().catch(() => undefined);
    waiting.reject(err);
  };
  private readonly onValue = (result: IteratorResult<SseBatch>): void => {
    const waiting = this.waiting;
    if (waiting === undefined) return; // timed out (or returned) meanwhile
    this.waiting = undefined;
    this.timer?.unref();
    if (result.done) {
      this.finish();
      waiting.resolve(result);
      return;
    }
    let batch = result.value;
    for (let i = 0; i < batch.length; i++) {
      const frame = batch[i]!;
      try {
        if (!this.wellFormed || frame.event === 'error') checkFrame(frame, this.opts.target);
      } catch (err) {
        if (i === 0) {
          this.finish();
          waiting.reject(err);
          return;
        }
        this.failure = err;
        batch = batch.slice(0, i);
        break;
      }
      if (!this.sawContent && !BEFORE_CONTENT.has(frame.event)) this.sawContent = true;
    }
    waiting.resolve(batch === result.value ? result : { done: false, value: batch });
  };
  private readonly onError = (err: unknown): void => {
    const waiting = this.waiting;
    if (waiting === undefined) return;
    this.waiting = undefined;
    this.finish();
    waiting.reject(err);
  };

  constructor(
    events: AsyncIterable<SseBatch>,
    private readonly opts: StreamGuardOptions,
  ) {
    this.source = events[Symbol.asyncIterator]();
    this.now = opts.now ?? Date.now;
    this.wellFormed = opts.wellFormed === true;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<SseBatch>> {
    if (this.failure !== undefined) {
      const err = this.failure;
      this.failure = undefined;
      this.finish();
      return Promise.reject(err);
    }
    if (this.finished) return Promise.resolve({ done: true, value: undefined });
    const now = this.now();
    this.setLimit(now);
    this.arm(now);
    const read = new Promise<IteratorResult<SseBatch>>((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
    let pending: Promise<IteratorResult<SseBatch>>;
    try {
      pending = this.source.next();
    } catch (err) {
      this.onError(err);
      return read;
    }
    pending.then(this.onValue, this.onError);
    return read;
  }

  async return(): Promise<IteratorResult<SseBatch>> {
    this.finish();
    // A read still under way ends too, rather than hanging on a source that is being closed.
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve({ done: true, value: undefined });
    // Not awaited: a generator suspended on a socket read would hold this up until the read ends.
    this.source.return?.().catch(() => undefined);
    return { done: true, value: undefined };
  }

  private finish(): void {
    this.finished = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Makes sure the timer fires no later than the limit (and holds the process while a read waits). */
  private arm(now: number): void {
    if (this.timer !== undefined) {
      if (this.timerAt <= this.limitAt) {
        this.timer.ref();
        return; // fires early at worst, and re-arms for the rest
      }
      clearTimeout(this.timer);
    }
    const delay = Math.max(0, this.limitAt - now);
    this.timerAt = now + delay;
    this.timer = setTimeout(this.onTimer, delay);
  }

  private setLimit(now: number): void {
    const { firstTokenBy, firstTokenMs, idleMs, deadline, totalMs } = this.opts;
    if (!this.sawContent && firstTokenBy < deadline) {
      this.limitAt = firstTokenBy;
      this.limitKind = 'timeout_first_token';
      this.limitMs = firstTokenMs;
    } else if (this.sawContent && now + idleMs < deadline) {
      this.limitAt = now + idleMs;
      this.limitKind = 'timeout_idle';
      this.limitMs = idleMs;
    } else {
      this.limitAt = deadline;
      this.limitKind = 'timeout_deadline';
      this.limitMs = totalMs;
    }
  }
}

const STATUS_BY_ERROR_TYPE: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/**
 * The bulk of a stream, a text delta in compact form, checked without parsing it: the pattern
 * accepts exactly the JSON texts of that shape (the text any JSON string literal), so a match is
 * well-formed JSON whose `type` is the event's. Anything else (other spacing, other events) is
 * parsed. A regex test costs a fraction of JSON.parse here.
 */
const COMPACT_TEXT_DELTA = new RegExp(
  String.raw`^\{"type":"content_block_delta","index":(?:0|[1-9]\d*),"delta":\{"type":"text_delta","text":${JSON_STRING_PATTERN}\}\}$`,
);

/**
 * Throws when a frame is not a well-formed Anthropic event, or is the upstream's own `error` event.
 * A frame it parsed keeps the object (`value`), for the readers after it.
 */
function checkFrame(frame: SseFrame, target: GuardTarget): void {
  if (frame.event === 'content_block_delta' && COMPACT_TEXT_DELTA.test(frame.data)) return;
  let data: any;
  try {
    data = JSON.parse(frame.data);
  } catch {
    data = undefined;
  }
  if (data === null || typeof data !== 'object' || data.type !== frame.event) {
    throw new GatewayError(502, `${target.provider}/${target.model}: the upstream sent a malformed stream event (${JSON.stringify(frame.event)})`, {
      type: 'api_error',
      origin: 'upstream',
      upstream: { ...target, kind: 'bad_response' },
    });
  }
  frame.value = data;
  if (frame.event === 'error') {
    const type = typeof data.error?.type === 'string' ? data.error.type : 'api_error';
    // The upstream names the type: `constructor` must not find Object's.
    const known = Object.hasOwn(STATUS_BY_ERROR_TYPE, type);
    const status = known ? STATUS_BY_ERROR_TYPE[type]! : 500;
    const message = typeof data.error?.message === 'string' && data.error.message ? data.error.message : `the upstream stream failed (${type})`;
    throw new GatewayError(status, message, {
      type: (known ? type : 'api_error') as ErrorType,
      origin: 'upstream',
      upstream: { ...target, status, kind: 'http' },
    });
  }
}
