import type { GatewayError } from '../../errors.js';
import { anthropicErrorDetail } from '../anthropic/anthropic-error.js';
import { GOOGLE_ERROR_TYPES, readGoogleError } from '../google-error.js';
import type { UpstreamResponse, UpstreamTarget } from '../transport.js';
import { tryParseJson, upstreamHttpError } from '../upstream-error.js';

/**
 * A non-2xx Vertex answer → the gateway error, the HTTP status kept (429 quota, 503, 401/403 ...).
 * Errors from the model itself arrive in Anthropic's envelope and keep their type; Vertex's own
 * are Google errors, `{"error": {"code", "message", "status"}}` (sometimes inside an array).
 */
export function vertexHttpError(res: Pick<UpstreamResponse, 'status' | 'headers'>, text: string, target: UpstreamTarget): GatewayError {
  const parsed = tryParseJson(text);
  const anthropic = anthropicErrorDetail(parsed);
  if (anthropic) return upstreamHttpError(res, target, anthropic);
  const google = readGoogleError(parsed);
  const message = google?.message ?? (text.trim() ? `upstream returned HTTP ${res.status}: ${text.trim().slice(0, 300)}` : undefined);
  const status = google?.status;
  return upstreamHttpError(res, target, { type: status ? GOOGLE_ERROR_TYPES[status] : undefined, message: status && message ? `${status}: ${message}` : message, code: status });
}
