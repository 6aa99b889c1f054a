import { GatewayError } from '../../errors.js';
import type { UpstreamResponse, UpstreamTarget } from '../transport.js';
import { tryParseJson, upstreamHttpError } from '../upstream-error.js';

export interface OpenAIErrorDetail {
  message?: string;
  code?: string;
  /** A numeric `code` (vLLM, OpenRouter put the HTTP status there). */
  status?: number;
}

/**
 * Reads the error out of an OpenAI-style body. Besides OpenAI's `{error: {message, type, code, param}}`
 * it knows the shapes compatible servers use: `{error: "text"}` (Ollama), `{object: "error", message,
 * code}` (vLLM, Mistral, whose message may be an object), `{detail}` (FastAPI servers).
 */
export function readOpenAIError(body: unknown): OpenAIErrorDetail {
  if (!body || typeof body !== 'object') return {};
  const b = body as Record<string, unknown>;
  const err = b.error;
  if (typeof err === 'string') return { message: err };
  const source = err && typeof err === 'object' ? (err as Record<string, unknown>) : b;
  const message = asText(source.message) ?? asText(source.detail) ?? (source === b ? undefined : asText(b.message));
  const code = source.code;
  return {
    message,
    code: typeof code === 'string' ? code : typeof source.type === 'string' ? source.type : undefined,
    status: typeof code === 'number' && code >= 400 && code <= 599 ? code : undefined,
  };
}

/**
 * A non-2xx OpenAI answer → the gateway error with the same status. The Anthropic error type follows
 * the status (401 authentication_error, 429 rate_limit_error, 503 overloaded_error ...): OpenAI's own
 * `type` names (`invalid_request_error` on a 404, `insufficient_quota` on a 429) would disagree with it.
 * The `code` (`context_length_exceeded`, `content_policy_violation`) feeds the classification the
 * router uses to decide on fallbacks.
 */
export function openAIHttpError(res: Pick<UpstreamResponse, 'status' | 'headers'>, target: UpstreamTarget, text: string): GatewayError {
  const detail = readOpenAIError(tryParseJson(text));
  const message = detail.message ?? (text.trim() ? `upstream returned HTTP ${res.status}: ${text.trim().slice(0, 300)}` : undefined);
  return upstreamHttpError(res, target, { message, code: detail.code });
}

/**
 * An `{"error": ...}` chunk inside a 200 stream (OpenRouter, vLLM and others report late failures so).
 * Its status is the numeric code when it has one, else 502: the upstream failed after it had said 200.
 */
export function openAIStreamError(error: unknown, target: UpstreamTarget): GatewayError {
  const detail = readOpenAIError({ error });
  const status = detail.status ?? 502;
  return upstreamHttpError({ status, headers: {} }, target, {
    message: `${target.provider}/${target.model}: upstream error mid-stream: ${detail.message ?? 'unknown error'}`,
    code: detail.code,
  });
}

function asText(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (v && typeof v === 'object') return JSON.stringify(v);
  return undefined;
}

export { badUpstreamResponse as badResponse } from '../upstream-error.js';
