import type { ContinuationMode } from '../../config/schema.js';
import type { OpenAIChatRequest } from './openai-types.js';

/**
 * Marks a translated request whose final assistant message is the start of an answer to continue,
 * the way the server wants it:
 * - `assistant_prefill` (OpenRouter): the trailing assistant message is enough;
 * - `prefix` (DeepSeek, Mistral): `prefix: true` on that message;
 * - `continue_final_message` (vLLM): `continue_final_message: true` and `add_generation_prompt: false`
 *   (vLLM refuses both true at once).
 * Without a final assistant message (the prefix was empty) there is nothing to mark: the request
 * is an ordinary one.
 */
export function markContinuation(body: OpenAIChatRequest, mode: Exclude<ContinuationMode, 'none'>): void {
  const last = body.messages.at(-1);
  if (last?.role !== 'assistant' || last.tool_calls) return;
  // A copy: the message may be a translation shared between requests (convert-messages.ts).
  if (mode === 'prefix') body.messages[body.messages.length - 1] = { ...last, prefix: true };
  else if (mode === 'continue_final_message') {
    body.continue_final_message = true;
    body.add_generation_prompt = false;
  }
}
