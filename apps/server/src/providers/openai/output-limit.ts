import { tryParseJson } from '../upstream-error.js';

export interface OutputLimit {
  /** The most output tokens this request can ask for. */
  limit: number;
  /** A fact about the model (OpenAI's output limit), rather than about this request's length (a context window minus this prompt). */
  ofModel: boolean;
}

/** OpenAI: "max_tokens is too large: 32000. This model supports at most 16384 completion tokens, whereas you provided 32000." */
const MODEL_LIMIT = /supports at most (\d+) completion tokens/;
/** vLLM: "'max_tokens' or 'max_completion_tokens' is too large: 32000. This model's maximum context length is 32768 tokens and your request has 1200 input tokens (32000 > 32768 - 1200)." */
const CONTEXT_AND_INPUT = /maximum context length is (\d+) tokens and your request has (\d+) input tokens/;
/** OpenAI's older form, and vLLM's: "This model's maximum context length is 8192 tokens. However, you requested 8256 tokens (64 in the messages, 8192 in the completion)." */
const CONTEXT_AND_MESSAGES = /maximum context length is (\d+) tokens\. However, you requested \d+ tokens \((\d+) in the messages, (\d+) in the completion\)/;

/**
 * How many output tokens the model would have taken, from a 400 that refused the request's
 * `requested` max tokens; undefined when the answer is about something else, or when no output at
 * all fits (the prompt alone is too long: a context-length error, for the next fallback).
 */
export function outputLimitFromError(status: number, errorText: string, requested: number): OutputLimit | undefined {
  if (status !== 400 && status !== 422) return undefined;
  const parsed = tryParseJson(errorText) as { error?: { message?: unknown } | string; message?: unknown } | undefined;
  const err = parsed?.error;
  const message =
    typeof err === 'string' ? err : typeof err?.message === 'string' ? err.message : typeof parsed?.message === 'string' ? parsed.message : errorText.slice(0, 4096);
  let limit: number | undefined;
  let ofModel = false;
  let m = MODEL_LIMIT.exec(message);
  if (m) {
    limit = Number(m[1]);
    ofModel = true;
  } else if ((m = CONTEXT_AND_INPUT.exec(message))) {
    limit = Number(m[1]) - Number(m[2]);
  } else if ((m = CONTEXT_AND_MESSAGES.exec(message)) && Number(m[3]) === requested) {
    limit = Number(m[1]) - Number(m[2]);
  }
  if (limit === undefined || !Number.isSafeInteger(limit) || limit < 1 || limit >= requested) return undefined;
  return { limit, ofModel };
}
