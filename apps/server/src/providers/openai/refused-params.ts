import { tryParseJson } from '../upstream-error.js';
import type { OpenAIChatRequest } from './openai-types.js';

/**
 * Request fields the translation adds that some OpenAI-compatible models refuse, and that it can do
 * without:
 * - `reasoning_effort` (from `thinking`): gpt-4o and most compatible servers' non-reasoning models
 *   refuse it; left out, the model uses its default (listed in x-bf-dropped);
 * - `stream_options` (asks for usage at the end of a stream): older servers refuse it; without it
 *   the stream's usage is unknown (listed in x-bf-dropped);
 * - `stop` (from `stop_sequences`): o3, o4-mini and gpt-5 refuse it; the gateway then enforces the
 *   stop sequences itself (stop-sequences.ts), so nothing is lost and nothing is listed.
 * `response_format`, `tools` and the like are never left out (the client asked for what they do), nor
 * `user` (the word is in too many unrelated messages to tell).
 */
export const REFUSABLE_PARAMS = ['reasoning_effort', 'stream_options', 'stop'] as const;
export type RefusableParam = (typeof REFUSABLE_PARAMS)[number];

/**
 * The refusable field a 400 (or 422) answer refuses, if it names one the request carried: by the
 * error's `param` (OpenAI: "Unsupported parameter: 'reasoning_effort' is not supported with this
 * model.", param `reasoning_effort`) or in its message ("Unrecognized request argument supplied:
 * reasoning_effort", vLLM's and others' "extra fields not permitted ... stream_options"). `stop` is
 * a common word, so its message must quote it ('stop').
 */
export function refusedParam(status: number, errorText: string, body: OpenAIChatRequest): RefusableParam | undefined {
  if (status !== 400 && status !== 422) return undefined;
  const parsed = tryParseJson(errorText) as { error?: { param?: unknown } | string } | undefined;
  const err = parsed && typeof parsed.error === 'object' && parsed.error !== null ? parsed.error : undefined;
  const param = typeof err?.param === 'string' ? err.param : undefined;
  const text = errorText.length <= 4096 ? errorText : errorText.slice(0, 4096);
  const sent = body as unknown as Record<string, unknown>;
  for (const name of REFUSABLE_PARAMS) {
    if (sent[name] === undefined) continue;
    if (param === name) return name;
    if (name === 'stop' ? /['"`]stop['"`]/.test(text) : text.includes(name)) return name;
  }
  return undefined;
}
