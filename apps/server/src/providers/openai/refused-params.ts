import { tryParseJson } from '../upstream-error.js';
import type { OpenAIChatRequest } from './openai-types.js';

/**
 * Request fields the translation adds that some OpenAI-compatible models do not take, and that can
 * be left out without changing what the answer is about:
 * - `reasoning_effort` (from `thinking`): gpt-4o and most compatible servers' non-reasoning models
 *   refuse it;
 * - `stream_options` (asks for usage at the end of a stream): older servers refuse it; without it
 *   the stream's usage is unknown.
 * Both names are distinctive enough to be found in an error message. `response_format`, `tools` and
 * the like are never dropped (the client asked for what they do), nor `user` (the word is in too many
 * unrelated messages to tell).
 */
export const DROPPABLE_PARAMS = ['reasoning_effort', 'stream_options'] as const;

/**
 * The droppable field a 400 answer refuses, if it names one the request carried: by the error's
 * `param` (OpenAI's "Unsupported parameter: 'reasoning_effort' is not supported with this model")
 * or in its message ("Unrecognized request argument supplied: reasoning_effort", vLLM's and
 * others' "extra fields not permitted ... stream_options").
 */
export function refusedParam(status: number, errorText: string, body: OpenAIChatRequest): string | undefined {
  if (status !== 400 && status !== 422) return undefined;
  const parsed = tryParseJson(errorText) as { error?: { param?: unknown; message?: unknown } | string; message?: unknown; detail?: unknown } | undefined;
  const err = parsed && typeof parsed.error === 'object' && parsed.error !== null ? parsed.error : undefined;
  const param = typeof err?.param === 'string' ? err.param : undefined;
  const text = errorText.length <= 4096 ? errorText : errorText.slice(0, 4096);
  const sent = body as unknown as Record<string, unknown>;
  for (const name of DROPPABLE_PARAMS) {
    if (sent[name] === undefined) continue;
    if (param === name || text.includes(name)) return name;
  }
  return undefined;
}

/**
 * What each model of one provider refused, learnt from its answers: those fields are left out of its
 * later requests from the start (and reported in x-bf-dropped) instead of costing a refused call each
 * time. Bounded: models are client-chosen names.
 */
export class RefusedParams {
  private readonly byModel = new Map<string, Set<string>>();

  constructor(private readonly limit = 1000) {}

  learn(model: string, param: string): void {
    let set = this.byModel.get(model);
    if (!set) {
      if (this.byModel.size >= this.limit) this.byModel.clear();
      set = new Set();
      this.byModel.set(model, set);
    }
    set.add(param);
  }

  /** Leaves out of `body` what `model` refused before; returns the fields it removed. */
  apply(model: string, body: OpenAIChatRequest): string[] {
    const set = this.byModel.get(model);
    if (!set) return [];
    const removed: string[] = [];
    const fields = body as unknown as Record<string, unknown>;
    for (const name of set) {
      if (fields[name] === undefined) continue;
      delete fields[name];
      removed.push(name);
    }
    return removed;
  }
}
