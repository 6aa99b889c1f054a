import { GatewayError } from '../../errors.js';
import type { ErrorType } from '../../generated/types.gen.js';
import { headerValue, type UpstreamResponse, type UpstreamTarget } from '../transport.js';
import { tryParseJson, upstreamHttpError } from '../upstream-error.js';

/**
 * Bedrock's exceptions → the status the router acts on and the Anthropic error type the client
 * sees. Throttling is a 429 (retried, another key, then the next fallback); a model that is not
 * ready yet, or a service that is unavailable, a 503 (retried with backoff); a timeout a 504.
 * Names come from `x-amzn-ErrorType` (`ThrottlingException:http://...`) or, inside a stream,
 * from `:exception-type` (`throttlingException`): matched without regard to case.
 */
const BY_EXCEPTION: Record<string, { status: number; type: ErrorType }> = {
  throttlingexception: { status: 429, type: 'rate_limit_error' },
  servicequotaexceededexception: { status: 429, type: 'rate_limit_error' },
  toomanyrequestsexception: { status: 429, type: 'rate_limit_error' },
  modelnotreadyexception: { status: 503, type: 'overloaded_error' },
  serviceunavailableexception: { status: 503, type: 'overloaded_error' },
  serviceunavailable: { status: 503, type: 'overloaded_error' },
  internalserverexception: { status: 500, type: 'api_error' },
  modelstreamerrorexception: { status: 500, type: 'api_error' },
  modelerrorexception: { status: 502, type: 'api_error' },
  modeltimeoutexception: { status: 504, type: 'timeout_error' },
  validationexception: { status: 400, type: 'invalid_request_error' },
  resourcenotfoundexception: { status: 404, type: 'not_found_error' },
  accessdeniedexception: { status: 403, type: 'permission_error' },
  unrecognizedclientexception: { status: 403, type: 'permission_error' },
  invalidsignatureexception: { status: 403, type: 'permission_error' },
  incompletesignatureexception: { status: 403, type: 'permission_error' },
  missingauthenticationtokenexception: { status: 403, type: 'permission_error' },
  expiredtokenexception: { status: 403, type: 'permission_error' },
};

/** Bedrock's wording for a prompt over the model's context window. */
const TOO_LONG = /input is too long|too long for (?:the )?requested model|prompt is too long|exceeds? the (?:model'?s )?(?:maximum )?context/i;

/** A non-2xx Bedrock answer (`{"message": ...}` + `x-amzn-ErrorType`) → the gateway error. */
export function bedrockHttpError(res: Pick<UpstreamResponse, 'status' | 'headers'>, text: string, target: UpstreamTarget): GatewayError {
  const errorType = (headerValue(res.headers, 'x-amzn-errortype') ?? '').split(':')[0]!.trim();
  const parsed = tryParseJson(text);
  const message =
    (typeof parsed?.message === 'string' && parsed.message) ||
    (typeof parsed?.Message === 'string' && parsed.Message) ||
    (text.trim() ? `upstream returned HTTP ${res.status}: ${text.trim().slice(0, 300)}` : undefined);
  const known = BY_EXCEPTION[errorType.toLowerCase()];
  const status = known?.status ?? res.status;
  return upstreamHttpError({ status, headers: res.headers }, target, {
    type: known?.type,
    message: errorType && message ? `${errorType}: ${message}` : message,
    code: status === 400 && message && TOO_LONG.test(message) ? 'context_length_exceeded' : errorType,
  });
}

/** An exception frame inside a 200 event stream → the gateway error (the stream then ends with `event: error`). */
export function bedrockStreamException(exceptionType: string, payload: string, target: UpstreamTarget): GatewayError {
  const parsed = tryParseJson(payload);
  const text = (typeof parsed?.message === 'string' && parsed.message) || (typeof parsed?.Message === 'string' && parsed.Message) || payload.slice(0, 300);
  const known = BY_EXCEPTION[exceptionType.toLowerCase()];
  const status = known?.status ?? 502;
  return upstreamHttpError({ status, headers: {} }, target, {
    type: known?.type ?? 'api_error',
    message: `${target.provider}/${target.model}: ${exceptionType} mid-stream: ${text || 'no message'}`,
    code: status === 400 && TOO_LONG.test(text) ? 'context_length_exceeded' : exceptionType,
  });
}

/** The AWS credentials could not be had (no chain source, an expired SSO session, ...): like a refused key. */
export function credentialsError(target: UpstreamTarget, err: unknown): GatewayError {
  return new GatewayError(401, `${target.provider}/${target.model}: no usable AWS credentials: ${(err as Error)?.message ?? String(err)}`, {
    type: 'authentication_error',
    origin: 'upstream',
    upstream: { ...target, status: 401, kind: 'http' },
    cause: err,
  });
}
