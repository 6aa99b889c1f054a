import type { StopReason } from '../../generated/types.gen.js';

export interface StopInfo {
  stop_reason: StopReason;
  stop_sequence: string | null;
}

export interface FinishFacts {
  /** The answer contains at least one tool call. */
  hasToolCalls: boolean;
  /** The stop sequence that ended generation, when known (see matchedStopSequence). */
  matchedStop?: string | null;
  /** The upstream answered with a `refusal` instead of content. */
  refused?: boolean;
}

/**
 * OpenAI `finish_reason` → Anthropic `stop_reason`.
 * - `tool_calls` / `function_call`, and also `stop` (or none) when the answer has tool calls → `tool_use`
 *   (some servers say `stop` after a tool call; the client must still run the tools);
 * - `stop` → `stop_sequence` when the matched sequence is known, else `end_turn`; a `refusal` → `refusal`;
 * - `length` → `max_tokens`; `content_filter` → `refusal`;
 * - anything else (`eos`, unknown values, none) → `end_turn`, or `tool_use` with tool calls.
 */
export function mapFinishReason(finishReason: string | null | undefined, facts: FinishFacts): StopInfo {
  switch (finishReason) {
    case 'length':
      return { stop_reason: 'max_tokens', stop_sequence: null };
    case 'content_filter':
      return { stop_reason: 'refusal', stop_sequence: null };
  }
  if (facts.hasToolCalls) return { stop_reason: 'tool_use', stop_sequence: null };
  if (facts.refused) return { stop_reason: 'refusal', stop_sequence: null };
  if (finishReason === 'stop' && facts.matchedStop) return { stop_reason: 'stop_sequence', stop_sequence: facts.matchedStop };
  return { stop_reason: 'end_turn', stop_sequence: null };
}

/**
 * Which of the request's stop sequences ended generation, when the upstream lets us know:
 * vLLM (and servers built on it) report the matched string in the choice's `stop_reason`; servers
 * that keep the stop string in the output end the text with it. OpenAI itself says neither, so its
 * answers stop with `end_turn`.
 */
export function matchedStopSequence(
  stopSequences: readonly string[] | undefined,
  reported: string | number | null | undefined,
  textTail: string,
): string | null {
  if (!stopSequences || stopSequences.length === 0) return null;
  if (typeof reported === 'string' && stopSequences.includes(reported)) return reported;
  for (const s of stopSequences) if (s && textTail.endsWith(s)) return s;
  return null;
}

/** How much of the text's end matchedStopSequence needs to see. */
export function stopTailLength(stopSequences: readonly string[] | undefined): number {
  let max = 0;
  for (const s of stopSequences ?? []) max = Math.max(max, s.length);
  return max;
}
