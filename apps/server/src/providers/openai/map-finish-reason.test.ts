import { describe, expect, it } from 'vitest';
import { mapFinishReason, matchedStopSequence, stopTailLength } from './map-finish-reason.js';

const none = { hasToolCalls: false };

describe('mapFinishReason', () => {
  it('stop → end_turn', () => {
    expect(mapFinishReason('stop', none)).toEqual({ stop_reason: 'end_turn', stop_sequence: null });
  });

  it('stop with a known matched sequence → stop_sequence and the string', () => {
    expect(mapFinishReason('stop', { hasToolCalls: false, matchedStop: 'END' })).toEqual({
      stop_reason: 'stop_sequence',
      stop_sequence: 'END',
    });
  });

  it('length → max_tokens, even with a (truncated) tool call', () => {
    expect(mapFinishReason('length', none).stop_reason).toBe('max_tokens');
    expect(mapFinishReason('length', { hasToolCalls: true }).stop_reason).toBe('max_tokens');
  });

  it('tool_calls and function_call → tool_use', () => {
    expect(mapFinishReason('tool_calls', { hasToolCalls: true }).stop_reason).toBe('tool_use');
    expect(mapFinishReason('function_call', { hasToolCalls: true }).stop_reason).toBe('tool_use');
  });

  it('stop WITH tool calls → tool_use (servers that say stop after calling tools)', () => {
    expect(mapFinishReason('stop', { hasToolCalls: true })).toEqual({ stop_reason: 'tool_use', stop_sequence: null });
  });

  it('tool_calls without any tool call in the answer is not invented: end_turn', () => {
    expect(mapFinishReason('tool_calls', none).stop_reason).toBe('end_turn');
  });

  it('content_filter → refusal, and an answer with a refusal → refusal', () => {
    expect(mapFinishReason('content_filter', none).stop_reason).toBe('refusal');
    expect(mapFinishReason('stop', { hasToolCalls: false, refused: true }).stop_reason).toBe('refusal');
  });

  it('unknown or missing → end_turn', () => {
    expect(mapFinishReason('eos', none).stop_reason).toBe('end_turn');
    expect(mapFinishReason(null, none).stop_reason).toBe('end_turn');
    expect(mapFinishReason(undefined, { hasToolCalls: true }).stop_reason).toBe('tool_use');
  });
});

describe('matchedStopSequence', () => {
  it('takes the string the upstream reports (vLLM stop_reason) when it is one of ours', () => {
    expect(matchedStopSequence(['###', 'END'], 'END', 'whatever')).toBe('END');
  });

  it('ignores a stop token id or a string we did not ask for', () => {
    expect(matchedStopSequence(['END'], 151645, 'text')).toBeNull();
    expect(matchedStopSequence(['END'], '</s>', 'text')).toBeNull();
  });

  it('finds a sequence the upstream kept at the end of the text', () => {
    expect(matchedStopSequence(['###', 'END'], null, 'one two END')).toBe('END');
  });

  it('is null without stop sequences or any evidence', () => {
    expect(matchedStopSequence(undefined, 'END', 'END')).toBeNull();
    expect(matchedStopSequence(['END'], null, 'no match here')).toBeNull();
  });

  it('stopTailLength is the longest sequence', () => {
    expect(stopTailLength(['a', 'abcd', 'ab'])).toBe(4);
    expect(stopTailLength(undefined)).toBe(0);
  });
});
