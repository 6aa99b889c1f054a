import type { ErrorType } from './generated/types.gen.js';
import { clip } from './quote.js';

const TYPE_BY_STATUS: Record<number, ErrorType> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'overloaded_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** The Anthropic error type that goes with an HTTP status. */
export function errorTypeForStatus(status: number): ErrorType {
  return TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

/**
 * The longest message an error carries: an upstream's own message (from a 2xx body, an `error` event
 * mid-stream, a Bedrock exception frame) can be megabytes, and it goes to the client, into a job's or
 * a batch line's stored outcome, and into the log. Past it the message is cut, its length said. As
 * much as an upstream's error body is read (MAX_ERROR_BODY), so an error answer is still relayed whole.
 */
export const MAX_ERROR_MESSAGE = 64 * 1024;

/**
 * Every failure the gateway reports is one of these: a status, an Anthropic error type and a
 * message. Created where the failure is understood, rendered in one place (http/error-envelope).
 */
export class GatewayError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  /** Headers to send with the error (e.g. retry-after). */
  readonly headers: Record<string, string>;
  /** Where the error came from: the gateway itself or an upstream provider. */
  readonly origin: 'gateway' | 'upstream';
  /** Upstream-specific facts the router uses to decide on retry and fallback. */
  readonly upstream?: UpstreamFailure;

  constructor(
    status: number,
    message: string,
    opts: {
      type?: ErrorType;
      headers?: Record<string, string>;
      origin?: 'gateway' | 'upstream';
      upstream?: UpstreamFailure;
      cause?: unknown;
    } = {},
  ) {
    super(clip(message, MAX_ERROR_MESSAGE), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GatewayError';
    this.status = status;
    this.type = opts.type ?? errorTypeForStatus(status);
    this.headers = opts.headers ?? {};
    this.origin = opts.origin ?? 'gateway';
    this.upstream = opts.upstream;
  }
}

/** What went wrong talking to an upstream, in terms the router can act on. */
export interface UpstreamFailure {
  provider: string;
  model: string;
  /** HTTP status from the upstream, or undefined for network failures and timeouts. */
  status?: number;
  kind:
    | 'http'
    | 'connect'
    | 'reset'
    | 'timeout_connect'
    | 'timeout_headers'
    | 'timeout_first_token'
    | 'timeout_idle'
    | 'timeout_deadline'
    | 'bad_response'
    | 'context_length'
    | 'content_policy'
    /** The request uses a feature this provider's wire format cannot carry (refused before any call). */
    | 'unsupported'
    /** The upstream ended the generation itself before it was done (vLLM's finish_reason `abort` / `error`). */
    | 'aborted';
  /** Seconds to wait, parsed from retry-after / retry-after-ms, when the upstream said. */
  retryAfterMs?: number;
}

export const invalidRequest = (message: string) => new GatewayError(400, message);
export const notFound = (message: string) => new GatewayError(404, message);
