import type { GatewayError } from '../../errors.js';
import type { UpstreamResponse, UpstreamTarget } from '../transport.js';
import { tryParseJson, upstreamHttpError } from '../upstream-error.js';

/** The `error` object of an Anthropic error envelope, when `body` is one. */
export function anthropicErrorDetail(body: unknown): { type?: string; message?: string } | undefined {
  const parsed = body as { type?: unknown; error?: { type?: unknown; message?: unknown } } | undefined;
  if (parsed?.type !== 'error' || !parsed.error || typeof parsed.error !== 'object') return undefined;
  return {
    type: typeof parsed.error.type === 'string' ? parsed.error.type : undefined,
    message: typeof parsed.error.message === 'string' ? parsed.error.message : undefined,
  };
}

/** A non-2xx answer in Anthropic's error envelope (or anything else) → the gateway error, type and message kept. */
export function anthropicHttpError(res: Pick<UpstreamResponse, 'status' | 'headers'>, text: string, target: UpstreamTarget): GatewayError {
  const error = anthropicErrorDetail(tryParseJson(text));
  return upstreamHttpError(res, target, {
    type: error?.type,
    message: error?.message ?? (text ? `upstream returned HTTP ${res.status}: ${text.slice(0, 300)}` : undefined),
  });
}
