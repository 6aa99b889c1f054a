import { GatewayError } from '../../errors.js';
import type { UpstreamResponse, UpstreamTarget } from '../transport.js';
import { badUpstreamResponse, tryParseJson, upstreamHttpError } from '../upstream-error.js';

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
 * An error object an upstream sent after it had answered 200: as the whole body (OpenRouter does
 * when the model fails after the request was accepted: `{"error": {"code": 503, "message": ...}}`)
 * or as a stream chunk (OpenRouter, vLLM and others report late failures so). The status it names
 * (502 when it names none) and its own message, typed like the same status over HTTP, so a JSON
 * answer and a stream fail alike.
 */
export function openAIErrorInBody(error: unknown, target: UpstreamTarget): GatewayError {
  const detail = readOpenAIError({ error });
  return upstreamHttpError({ status: detail.status ?? 502, headers: {} }, target, {
    message: detail.message ?? `${target.provider}/${target.model}: the upstream answered 200 with an error and no message`,
    code: detail.code,
  });
}

/** finish_reason values that mean the upstream gave up on the answer (vLLM: an aborted request). */
export function isAbortedFinish(finishReason: string): boolean {
  return finishReason === 'abort' || finishReason === 'error';
}

/**
 * The upstream ended the generation itself, with no error object: the answer is incomplete. Failed
 * like a 5xx, so the router retries or falls back before any content reached the client (kind
 * `aborted`, for a later continuation of streams cut after content).
 */
export function abortedGeneration(target: UpstreamTarget, finishReason: string): GatewayError {
  return new GatewayError(502, `${target.provider}/${target.model}: the upstream aborted the generation (finish_reason "${finishReason}"); the answer is incomplete`, {
    type: 'api_error',
    origin: 'upstream',
    upstream: { provider: target.provider, model: target.model, kind: 'aborted' },
  });
}

/**
 * A tool call whose arguments are not a JSON object. The same failure for a JSON answer and a stream
 * (where the SDK could not read them either): a malformed upstream answer, retried like one.
 */
export function invalidToolArguments(target: UpstreamTarget, id: string | undefined, name: string, args: string): GatewayError {
  const shown = args.length > 200 ? `${args.slice(0, 200)}...` : args;
  return badUpstreamResponse(target, `tool call ${id ?? '(no id)'} (${name || 'no name'}) has arguments that are not a JSON object: ${JSON.stringify(shown)}`);
}

function asText(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (v && typeof v === 'object') return JSON.stringify(v);
  return undefined;
}

export { badUpstreamResponse as badResponse } from '../upstream-error.js';
