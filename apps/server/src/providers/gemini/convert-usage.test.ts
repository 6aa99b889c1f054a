import { describe, expect, it } from 'vitest';
import { convertUsage } from './convert-usage.js';
import { mapFinishReason } from './map-finish-reason.js';

describe('Gemini usage', () => {
  it('prompt includes cached tokens; thinking is output', () => {
    expect(convertUsage({ promptTokenCount: 1000, cachedContentTokenCount: 800, candidatesTokenCount: 50, thoughtsTokenCount: 200, toolUsePromptTokenCount: 10 })).toEqual({
      input_tokens: 210,
      output_tokens: 250,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 800,
    });
    expect(convertUsage(undefined)).toEqual({ input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  });
});

describe('Gemini finishReason', () => {
  it.each([
    ['STOP', false, 'end_turn'],
    ['STOP', true, 'tool_use'],
    ['MAX_TOKENS', true, 'max_tokens'],
    ['SAFETY', false, 'refusal'],
    ['RECITATION', false, 'refusal'],
    ['PROHIBITED_CONTENT', false, 'refusal'],
    ['BLOCKLIST', false, 'refusal'],
    ['SPII', false, 'refusal'],
    ['OTHER', false, 'end_turn'],
    [undefined, false, 'end_turn'],
  ])('%s (calls: %s) → %s', (reason, hasToolUse, stop) => {
    expect(mapFinishReason(reason, { hasToolUse })).toEqual({ stop_reason: stop, stop_sequence: null });
  });
});
