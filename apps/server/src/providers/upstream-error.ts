import { GatewayError, errorTypeForStatus, type UpstreamFailure } from '../errors.js';
import type { ErrorType } from '../generated/types.gen.js';
import { headerValue, retryAfterMs, type UpstreamResponse, type UpstreamTarget } from './transport.js';

const KNOWN_TYPES = new Set<string>([
  'invalid_request_error', 'authentication_error', 'billing_error', 'permission_error', 'not_found_error',
  'conflict_error', 'request_too_large', 'rate_limit_error', 'api_error', 'timeout_error', 'overloaded_error',
]);

const CONTEXT_LENGTH = /context[ _-]?(length|window)|prompt is too long|maximum context|too many tokens|exceeds? the (model'?s )?(maximum|max)/i;
const CONTENT_POLICY = /content[ _-]?(policy|filter|management)|safety system|flagged|responsible ai/i;

/** Headers worth passing to the client with an upstream error. */
const RELAYED_HEADERS = ['retry-after', 'retry-after-ms', 'x-should-retry'];

/**
 * Builds the GatewayError for a non-2xx upstream answer. `type` and `message` come from the
 * provider's own error body where it has one; the status is kept so clients see what happened.
 */
export function upstreamHttpError(
  res: Pick<UpstreamResponse, 'status' | 'headers'>,
  target: UpstreamTarget,
  detail: { type?: string; message?: string; code?: string },
): GatewayError {
  const status = res.status >= 400 && res.status <= 599 ? res.status : 502;
  const message = detail.message?.trim() || `upstream returned HTTP ${res.status}`;
  let kind: UpstreamFailure['kind'] = 'http';
  if (status === 400 || status === 413) {
    const haystack = `${detail.code ?? ''} ${detail.type ?? ''} ${message}`;
    if (CONTEXT_LENGTH.test(haystack)) kind = 'context_length';
    else if (CONTENT_POLICY.test(haystack)) kind = 'content_policy';
  }
  const type: ErrorType =
    detail.type && KNOWN_TYPES.has(detail.type) ? (detail.type as ErrorType) : errorTypeForStatus(status);
  const headers: Record<string, string> = {};
  for (const name of RELAYED_HEADERS) {
    const v = headerValue(res.headers, name);
    if (v !== undefined) headers[name] = v;
  }
  return new GatewayError(status, message, {
    type,
    headers,
    origin: 'upstream',
    upstream: {
      provider: target.provider,
      model: target.model,
      status: res.status,
      kind,
      retryAfterMs: retryAfterMs(res.headers),
    },
  });
}

/** Parses JSON, or undefined when the text is not JSON. */
export function tryParseJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The upstream answered 2xx with something that is not what its wire format promises. */
export function badUpstreamResponse(target: UpstreamTarget, message: string): GatewayError {
  return new GatewayError(502, `${target.provider}/${target.model}: ${message}`, {
    type: 'api_error',
    origin: 'upstream',
    upstream: { ...target, kind: 'bad_response' },
  });
}

