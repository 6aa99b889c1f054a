import type { StopReason } from '../../generated/types.gen.js';

export interface StopInfo {
  stop_reason: StopReason;
  stop_sequence: string | null;
}

/** Finish reasons that mean Gemini withheld (the rest of) the answer for its content. */
const REFUSALS = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'LANGUAGE',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
]);

/** Finish reasons that mean the model's tool call itself failed: the answer is not usable. */
const FAILED_CALLS = new Set(['MALFORMED_FUNCTION_CALL', 'UNEXPECTED_TOOL_CALL', 'TOO_MANY_TOOL_CALLS']);

/**
 * Gemini `finishReason` → Anthropic `stop_reason`:
 * - MAX_TOKENS → max_tokens;
 * - SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII, LANGUAGE and the image ones → refusal;
 * - STOP (also when the model called functions: Gemini has no reason of its own for that), OTHER,
 *   and any other value → tool_use when the answer has calls, else end_turn. Gemini does not say
 *   whether a stop sequence ended the text, so a stop there is end_turn too.
 */
export function mapFinishReason(reason: string | undefined, facts: { hasToolUse: boolean }): StopInfo {
  if (reason === 'MAX_TOKENS') return { stop_reason: 'max_tokens', stop_sequence: null };
  if (reason !== undefined && REFUSALS.has(reason)) return { stop_reason: 'refusal', stop_sequence: null };
  return { stop_reason: facts.hasToolUse ? 'tool_use' : 'end_turn', stop_sequence: null };
}

/** True for the finish reasons that fail the answer (see geminiFailedCall). */
export function isFailedCall(reason: string | undefined): boolean {
  return reason !== undefined && FAILED_CALLS.has(reason);
}
