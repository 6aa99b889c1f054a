import type { Response } from 'express';
import type { LimitState, RateHeadersState } from './types.js';

/** Anthropic's rate-limit headers, for the tightest requests and tokens limits of the caller's key and team. */
export function setRateHeaders(res: Pick<Response, 'setHeader'>, state: RateHeadersState): void {
  if (state.requests) put(res, 'requests', state.requests);
  if (state.tokens) put(res, 'tokens', state.tokens);
}

function put(res: Pick<Response, 'setHeader'>, what: 'requests' | 'tokens', s: LimitState): void {
  res.setHeader(`anthropic-ratelimit-${what}-limit`, String(s.limit));
  res.setHeader(`anthropic-ratelimit-${what}-remaining`, String(s.remaining));
  res.setHeader(`anthropic-ratelimit-${what}-reset`, rfc3339(s.resetAt));
}

/** The last few times written: consecutive answers mostly share their reset times. */
const written = new Map<number, string>();

/** RFC 3339 in whole seconds, as Anthropic writes it. */
function rfc3339(ms: number): string {
  const s = Math.ceil(ms / 1000);
  let text = written.get(s);
  if (text === undefined) {
    text = new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    if (written.size >= 8) written.clear();
    written.set(s, text);
  }
  return text;
}
