import type { ErrorType } from '../generated/types.gen.js';

/** Google's canonical error codes → the Anthropic error type (Vertex AI and the Gemini API share them). */
export const GOOGLE_ERROR_TYPES: Readonly<Record<string, ErrorType>> = {
  RESOURCE_EXHAUSTED: 'rate_limit_error',
  UNAVAILABLE: 'overloaded_error',
  UNAUTHENTICATED: 'authentication_error',
  PERMISSION_DENIED: 'permission_error',
  NOT_FOUND: 'not_found_error',
  INVALID_ARGUMENT: 'invalid_request_error',
  FAILED_PRECONDITION: 'invalid_request_error',
  OUT_OF_RANGE: 'invalid_request_error',
  DEADLINE_EXCEEDED: 'timeout_error',
  INTERNAL: 'api_error',
};

export interface GoogleErrorDetail {
  /** The canonical code, e.g. RESOURCE_EXHAUSTED. */
  status?: string;
  /** The numeric `code` (the HTTP status). */
  code?: number;
  message?: string;
  /** `ErrorInfo.reason` from `details` (e.g. API_KEY_INVALID). */
  reason?: string;
  /** `RetryInfo.retryDelay` from `details` ("37s"), in milliseconds. */
  retryDelayMs?: number;
}

/**
 * Google's error body, `{"error": {"code", "message", "status", "details"}}` (Vertex sometimes
 * wraps it in an array), or undefined when `body` is not one.
 */
export function readGoogleError(body: unknown): GoogleErrorDetail | undefined {
  const error = (Array.isArray(body) ? body[0] : body)?.error;
  if (!error || typeof error !== 'object' || Array.isArray(error)) return undefined;
  const detail: GoogleErrorDetail = {};
  if (typeof error.status === 'string' && error.status) detail.status = error.status;
  if (typeof error.code === 'number') detail.code = error.code;
  if (typeof error.message === 'string' && error.message.trim()) detail.message = error.message.trim();
  for (const item of Array.isArray(error.details) ? error.details : []) {
    if (!item || typeof item !== 'object') continue;
    const type = typeof item['@type'] === 'string' ? item['@type'] : '';
    if (type.endsWith('google.rpc.ErrorInfo') && typeof item.reason === 'string') detail.reason ??= item.reason;
    if (type.endsWith('google.rpc.RetryInfo')) detail.retryDelayMs ??= durationMs(item.retryDelay);
  }
  return detail;
}

/** A protobuf Duration in JSON ("37s", "1.5s"), in milliseconds. */
function durationMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
  return m ? Math.ceil(Number(m[1]) * 1000) : undefined;
}
