import { describe, expect, it } from 'vitest';
import { ToolNameMap } from '../../openai/tool-names.js';
import { convertResponse } from './convert-response.js';
import { convertUsage } from './convert-usage.js';
import { mapStopReason } from './map-stop-reason.js';

const ctx = { toolNames: new ToolNameMap(), model: 'mistral.mistral-large-2407-v1:0' };

describe('Converse answer → Anthropic Message', () => {
  it('reasoning, text and tool calls in order; request id as message id', () => {
    const message = convertResponse(
      {
        output: {
          message: {
            role: 'assistant',
            content: [
              { reasoningContent: { reasoningText: { text: 'think', signature: 'sig' } } },
              { text: '' },
              { text: 'Calling.' },
              { toolUse: { toolUseId: 'tooluse_1', name: 'get_weather', input: { city: 'Oslo' } } },
            ],
          },
        },
        stopReason: 'tool_use',
        usage: { inputTokens: 30, outputTokens: 12, totalTokens: 42 },
      },
      { ...ctx, requestId: '0a1b2c3d-0000-1111-2222-333344445555' },
    );
    expect(message).toEqual({
      id: 'msg_bdrk_0a1b2c3d-0000-1111-2222-333344445555',
      type: 'message',
      role: 'assistant',
      model: 'mistral.mistral-large-2407-v1:0',
      content: [
        { type: 'thinking', thinking: 'think', signature: 'sig' },
        { type: 'text', text: 'Calling.' },
        { type: 'tool_use', id: 'tooluse_1', name: 'get_weather', input: { city: 'Oslo' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 30, output_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
  });

  it('without a request id the message id is a fresh msg_ id', () => {
    expect(convertResponse({ output: { message: { content: [{ text: 'x' }] } }, stopReason: 'end_turn' }, ctx).id).toMatch(/^msg_01[A-Za-z0-9]{22}$/);
  });
});

describe('stop reasons', () => {
  it.each([
    ['end_turn', 'end_turn'],
    ['max_tokens', 'max_tokens'],
    ['guardrail_intervened', 'refusal'],
    ['content_filtered', 'refusal'],
    ['model_context_window_exceeded', 'model_context_window_exceeded'],
    [undefined, 'end_turn'],
    ['something_new', 'end_turn'],
  ])('%s → %s', (converse, anthropic) => {
    expect(mapStopReason(converse, { hasToolUse: false }).stop_reason).toBe(anthropic);
  });

  it('tool calls make it tool_use whatever the reason', () => {
    expect(mapStopReason('end_turn', { hasToolUse: true })).toEqual({ stop_reason: 'tool_use', stop_sequence: null });
  });

  it('stop_sequence: the model’s own report, else the only requested sequence, else unknown', () => {
    expect(mapStopReason('stop_sequence', { hasToolUse: false, stopSequences: ['A', 'B'], additional: { stop_sequence: 'B' } })).toEqual({ stop_reason: 'stop_sequence', stop_sequence: 'B' });
    expect(mapStopReason('stop_sequence', { hasToolUse: false, stopSequences: ['A'] })).toEqual({ stop_reason: 'stop_sequence', stop_sequence: 'A' });
    expect(mapStopReason('stop_sequence', { hasToolUse: false, stopSequences: ['A', 'B'] })).toEqual({ stop_reason: 'stop_sequence', stop_sequence: null });
  });
});

describe('usage', () => {
  it('input excludes cache reads and writes, which have their own counters', () => {
    expect(convertUsage({ inputTokens: 10, outputTokens: 5, cacheReadInputTokens: 100, cacheWriteInputTokens: 7, totalTokens: 122 })).toEqual({
      input_tokens: 10,
      output_tokens: 5,
      cache_read_input_tokens: 100,
      cache_creation_input_tokens: 7,
    });
    expect(convertUsage(undefined)).toEqual({ input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
  });
});
