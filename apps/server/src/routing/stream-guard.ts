import { GatewayError, type UpstreamFailure } from '../errors.js';
import type { ErrorType } from '../generated/types.gen.js';
import type { SseFrame } from '../providers/types.js';

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
 * The watchdog every provider's event stream goes through. Each `next()` races the provider's
 * iterator against the limit in force: the first-token limit until a content event arrived, then
 * the idle limit, and always the overall deadline. When a limit passes it aborts the upstream
 * (through `onTimeout`) and throws, even if the provider's iterator does not react to the abort.
 * It also refuses frames that are not Anthropic events (data must be JSON whose `type` is the event
 * name), so nothing garbled reaches the client, and turns an upstream `error` event into a thrown
 * GatewayError, which the router can retry before the first content and the HTTP layer renders
 * as `event: error` after it.
 */
export class GuardedStream implements AsyncIterableIterator<SseFrame> {
  /** A content event (anything past message_start / ping / content_block_start) has been returned. */
  sawContent = false;
  private finished = false;
  private readonly source: AsyncIterator<SseFrame>;
  private readonly now: () => number;

  constructor(
    events: AsyncIterable<SseFrame>,
    private readonly opts: StreamGuardOptions,
  ) {
    this.source = events[Symbol.asyncIterator]();
    this.now = opts.now ?? Date.now;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<SseFrame>> {
    if (this.finished) return { done: true, value: undefined };
    const now = this.now();
    const limit = this.currentLimit(now);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, limit.at - now), 'expired');
    });
    let result: IteratorResult<SseFrame> | 'expired';
    try {
      result = await Promise.race([this.source.next(), expired]);
    } catch (err) {
      this.finished = true;
      throw err;
    } finally {
      clearTimeout(timer);
    }
    if (result === 'expired') {
      this.finished = true;
      const err = timeoutError(this.opts.target, limit.kind, limit.ms);
      this.opts.onTimeout(err);
      this.source.return?.().catch(() => undefined);
      throw err;
    }
    if (result.done) {
      this.finished = true;
      return result;
    }
    try {
      checkFrame(result.value, this.opts.target);
    } catch (err) {
      this.finished = true;
      throw err;
    }
    if (!BEFORE_CONTENT.has(result.value.event)) this.sawContent = true;
    return result;
  }

  async return(): Promise<IteratorResult<SseFrame>> {
    this.finished = true;
    // Not awaited: a generator suspended on a socket read would hold this up until the read ends.
    this.source.return?.().catch(() => undefined);
    return { done: true, value: undefined };
  }

  private currentLimit(now: number): { at: number; kind: TimeoutKind; ms: number } {
    const { firstTokenBy, firstTokenMs, idleMs, deadline, totalMs } = this.opts;
    const byDeadline = { at: deadline, kind: 'timeout_deadline' as const, ms: totalMs };
    if (!this.sawContent) return firstTokenBy < deadline ? { at: firstTokenBy, kind: 'timeout_first_token', ms: firstTokenMs } : byDeadline;
    return now + idleMs < deadline ? { at: now + idleMs, kind: 'timeout_idle', ms: idleMs } : byDeadline;
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

/** Throws when a frame is not a well-formed Anthropic event, or is the upstream's own `error` event. */
function checkFrame(frame: SseFrame, target: GuardTarget): void {
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
  if (frame.event === 'error') {
    const type = typeof data.error?.type === 'string' ? data.error.type : 'api_error';
    const status = STATUS_BY_ERROR_TYPE[type] ?? 500;
    const message = typeof data.error?.message === 'string' && data.error.message ? data.error.message : `the upstream stream failed (${type})`;
    throw new GatewayError(status, message, {
      type: (type in STATUS_BY_ERROR_TYPE ? type : 'api_error') as ErrorType,
      origin: 'upstream',
      upstream: { ...target, status, kind: 'http' },
    });
  }
}
