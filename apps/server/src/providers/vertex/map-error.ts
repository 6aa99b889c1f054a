import type { GatewayError } from '../../errors.js';
import type { ErrorType } from '../../generated/types.gen.js';
import { anthropicErrorDetail } from '../anthropic/anthropic-error.js';
import type { UpstreamResponse, UpstreamTarget } from '../transport.js';
import { tryParseJson, upstreamHttpError } from '../upstream-error.js';

/** Google's canonical error codes → the Anthropic error type. */
const BY_STATUS: Record<string, ErrorType> = {
  RESOURCE_EXHAUSTED: 'rate_limit_error',
  UNAVAILABLE: 'overloaded_error',
  UNAUTHENTICATED: 'authentication_error',
  PERMISSION_DENIED: 'permission_error',
  NOT_FOUND: 'not_found_error',
  INVALID_ARGUMENT: 'invalid_request_error',
  FAILED_PRECONDITION: 'invalid_request_error',
  DEADLINE_EXCEEDED: 'timeout_error',
  INTERNAL: 'api_error',
};

/**
 * A non-2xx Vertex answer → the gateway error, the HTTP status kept (429 quota, 503, 401/403 ...).
 * Errors from the model itself arrive in Anthropic's envelope and keep their type; Vertex's own
 * are Google errors, `{"error": {"code", "message", "status"}}` (sometimes inside an array).
 */
export function vertexHttpError(res: Pick<UpstreamResponse, 'status' | 'headers'>, text: string, target: UpstreamTarget): GatewayError {
  const parsed = tryParseJson(text);
  const anthropic = anthropicErrorDetail(parsed);
  if (anthropic) return upstreamHttpError(res, target, anthropic);
  const google = (Array.isArray(parsed) ? parsed[0] : parsed)?.error;
  const message = typeof google?.message === 'string' && google.message ? google.message : text.trim() ? `upstream returned HTTP ${res.status}: ${text.trim().slice(0, 300)}` : undefined;
  const status = typeof google?.status === 'string' ? google.status : undefined;
  return upstreamHttpError(res, target, { type: status ? BY_STATUS[status] : undefined, message: status && message ? `${status}: ${message}` : message, code: status });
}
