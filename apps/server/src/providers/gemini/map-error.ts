import { GatewayError } from '../../errors.js';
import { GOOGLE_ERROR_TYPES, readGoogleError } from '../google-error.js';
import { headerValue, type UpstreamResponse, type UpstreamTarget } from '../transport.js';
import { badUpstreamResponse, tryParseJson, upstreamHttpError } from '../upstream-error.js';

/** What the Gemini API says about a key it does not take (it answers 400 INVALID_ARGUMENT for it). */
const BAD_KEY_REASONS = new Set(['API_KEY_INVALID', 'API_KEY_EXPIRED', 'API_KEY_SERVICE_BLOCKED']);

/**
 * A non-2xx Gemini answer (`{"error": {"code", "message", "status", "details"}}`) → the gateway
 * error: the HTTP status kept and typed by Google's code (RESOURCE_EXHAUSTED 429 → rate_limit_error,
 * UNAVAILABLE 503 → overloaded_error, INVALID_ARGUMENT 400 → invalid_request_error, ...). Two
 * things Gemini says in `details` matter to the router:
 * - a key it refuses comes as 400 INVALID_ARGUMENT with reason API_KEY_INVALID: it is made a 401,
 *   so the key is cooled down and another one (or the next fallback) is tried;
 * - a quota error's `RetryInfo.retryDelay` ("37s") is its retry-after, when no header says one.
 * "The input token count (N) exceeds the maximum ..." is a context-length refusal (next fallback).
 */
export function geminiHttpError(res: Pick<UpstreamResponse, 'status' | 'headers'>, text: string, target: UpstreamTarget): GatewayError {
  const google = readGoogleError(tryParseJson(text));
  const message = google?.message ?? (text.trim() ? `upstream returned HTTP ${res.status}: ${text.trim().slice(0, 300)}` : undefined);
  const badKey = google?.reason !== undefined && BAD_KEY_REASONS.has(google.reason);
  const headers = { ...res.headers };
  if (google?.retryDelayMs !== undefined && headerValue(res.headers, 'retry-after') === undefined && headerValue(res.headers, 'retry-after-ms') === undefined) {
    headers['retry-after'] = String(Math.max(1, Math.ceil(google.retryDelayMs / 1000)));
  }
  const code = google?.status;
  return upstreamHttpError({ status: badKey ? 401 : res.status, headers }, target, {
    type: badKey ? 'authentication_error' : code ? GOOGLE_ERROR_TYPES[code] : undefined,
    message: code && message ? `${code}: ${message}` : message,
    code: google?.reason ?? code,
  });
}

/** An error Gemini reports inside a 200 stream (`data: {"error": {...}}`): its status (502 when it names none) and message. */
export function geminiStreamError(error: unknown, target: UpstreamTarget): GatewayError {
  const google = readGoogleError({ error });
  const status = google?.code !== undefined && google.code >= 400 && google.code <= 599 ? google.code : 502;
  return upstreamHttpError({ status, headers: {} }, target, {
    type: google?.status ? GOOGLE_ERROR_TYPES[google.status] : undefined,
    message: `${target.provider}/${target.model}: ${google?.status ?? 'error'} mid-stream: ${google?.message ?? 'no message'}`,
    code: google?.status,
  });
}

/**
 * Gemini blocked the prompt itself (`promptFeedback.blockReason`, no candidates): like a content
 * filter's 400, final (the same prompt goes nowhere else), with Gemini's reason.
 */
export function promptBlocked(target: UpstreamTarget, reason: string, detail?: string): GatewayError {
  return new GatewayError(400, `${target.provider}/${target.model}: the prompt was blocked by Gemini's content filter (${reason})${detail ? `: ${detail}` : ''}`, {
    type: 'invalid_request_error',
    origin: 'upstream',
    upstream: { provider: target.provider, model: target.model, status: 400, kind: 'content_policy' },
  });
}

/** The model's function call failed (MALFORMED_FUNCTION_CALL, ...): a malformed answer, retried or sent to a fallback like one. */
export function failedCall(target: UpstreamTarget, reason: string, detail?: string): GatewayError {
  return badUpstreamResponse(target, `the model's function call failed (finishReason ${reason})${detail ? `: ${detail.slice(0, 300)}` : ''}`);
}
