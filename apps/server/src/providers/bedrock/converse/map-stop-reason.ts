import type { StopReason } from '../../../generated/types.gen.js';

export interface ConverseStop {
  stop_reason: StopReason;
  stop_sequence: string | null;
}

/**
 * Converse `stopReason` → Anthropic `stop_reason`. `guardrail_intervened` and `content_filtered`
 * are refusals. `tool_use` also when the answer has tool calls whatever the reason says (the
 * client must run them). For `stop_sequence` the matched string comes from the model's own field
 * (Claude reports `stop_sequence`), or is the request's only stop sequence, or is unknown (null).
 */
export function mapStopReason(
  stopReason: string | undefined,
  facts: { hasToolUse: boolean; stopSequences?: readonly string[]; additional?: Record<string, unknown> | null },
): ConverseStop {
  switch (stopReason) {
    case 'max_tokens':
      return { stop_reason: 'max_tokens', stop_sequence: null };
    case 'guardrail_intervened':
    case 'content_filtered':
      return { stop_reason: 'refusal', stop_sequence: null };
    case 'model_context_window_exceeded':
      return { stop_reason: 'model_context_window_exceeded', stop_sequence: null };
  }
  if (facts.hasToolUse || stopReason === 'tool_use') return { stop_reason: facts.hasToolUse ? 'tool_use' : 'end_turn', stop_sequence: null };
  if (stopReason === 'stop_sequence') return { stop_reason: 'stop_sequence', stop_sequence: matchedSequence(facts.stopSequences, facts.additional) };
  return { stop_reason: 'end_turn', stop_sequence: null };
}

function matchedSequence(requested: readonly string[] | undefined, additional: Record<string, unknown> | null | undefined): string | null {
  const reported = additional?.stop_sequence;
  if (typeof reported === 'string' && reported) return reported;
  return requested && requested.length === 1 ? requested[0]! : null;
}
