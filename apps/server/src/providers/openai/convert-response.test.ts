import { openaiCompletion } from '@conduit/testkit';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import { convertResponse } from './convert-response.js';
import type { OpenAIChatCompletion } from './openai-types.js';
import { ToolNameMap } from './tool-names.js';

const ctx = { toolNames: new ToolNameMap(), target: { provider: 'openai', model: 'gpt-4o' } };

function failure(completion: OpenAIChatCompletion, over: Partial<typeof ctx> = {}): GatewayError {
  try {
    convertResponse(completion, { ...ctx, ...over });
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected convertResponse to fail');
}

describe('convertResponse', () => {
  it('text, id, model and usage', () => {
    const message = convertResponse(
      openaiCompletion({ id: 'chatcmpl-abc', model: 'gpt-4o-2024-08-06', content: 'Hello!', usage: { prompt_tokens: 12, completion_tokens: 3 } }),
      ctx,
    );
    expect(message).toEqual({
      id: 'msg_chatcmpl-abc',
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: 'Hello!' }],
      model: 'gpt-4o-2024-08-06',
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 12, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
  });

  it('cached tokens are taken out of input_tokens', () => {
    const message = convertResponse(openaiCompletion({ usage: { prompt_tokens: 2000, completion_tokens: 10, cached_tokens: 1536 } }), ctx);
    expect(message.usage).toEqual({ input_tokens: 464, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 1536 });
  });

  it('no empty text block: empty content gives no block', () => {
    expect(convertResponse(openaiCompletion({ content: '' }), ctx).content).toEqual([]);
  });

  it('parallel tool calls → tool_use blocks with parsed input, after the text; stop_reason tool_use', () => {
    const message = convertResponse(
      openaiCompletion({
        content: 'Checking.',
        tool_calls: [
          { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { id: 'call_2', name: 'get_weather', arguments: '{"city":"Tokyo"}' },
        ],
      }),
      ctx,
    );
    expect(message.content).toEqual([
      { type: 'text', text: 'Checking.' },
      { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { city: 'Tokyo' } },
    ]);
    expect(message.stop_reason).toBe('tool_use');
  });

  it('finish_reason stop with tool calls → tool_use', () => {
    const message = convertResponse(openaiCompletion({ tool_calls: [{ id: 'c', name: 'f', arguments: '{}' }], finish_reason: 'stop' }), ctx);
    expect(message.stop_reason).toBe('tool_use');
  });

  it('restores shortened tool names', () => {
    const names = new ToolNameMap();
    const long = 'mcp__server__'.padEnd(70, 'q');
    const short = names.toUpstream(long);
    const message = convertResponse(openaiCompletion({ tool_calls: [{ id: 'c', name: short, arguments: '{}' }] }), { ...ctx, toolNames: names });
    expect(message.content[0]).toMatchObject({ type: 'tool_use', name: long });
  });

  it('reasoning_content and reasoning → a thinking block first, signature ""', () => {
    const a = convertResponse(openaiCompletion({ reasoning_content: 'Let me think.', content: '42' }), ctx);
    expect(a.content).toEqual([
      { type: 'thinking', thinking: 'Let me think.', signature: '' },
      { type: 'text', text: '42' },
    ]);
    const completion = openaiCompletion({ content: '42' });
    completion.choices[0].message.reasoning = 'OpenRouter style.';
    expect(convertResponse(completion, ctx).content[0]).toEqual({ type: 'thinking', thinking: 'OpenRouter style.', signature: '' });
  });

  it('length → max_tokens; content_filter → refusal; a refusal → text + refusal', () => {
    expect(convertResponse(openaiCompletion({ finish_reason: 'length' }), ctx).stop_reason).toBe('max_tokens');
    expect(convertResponse(openaiCompletion({ finish_reason: 'content_filter', content: null }), ctx).stop_reason).toBe('refusal');
    const refusal = openaiCompletion({ content: null });
    refusal.choices[0].message.refusal = "I'm sorry, I can't help with that.";
    const message = convertResponse(refusal, ctx);
    expect(message.content).toEqual([{ type: 'text', text: "I'm sorry, I can't help with that." }]);
    expect(message.stop_reason).toBe('refusal');
  });

  it('stop_sequence and the matched string when the upstream reports it (vLLM stop_reason)', () => {
    const completion = openaiCompletion({ content: '1, 2, 3' });
    completion.choices[0].stop_reason = 'END';
    const message = convertResponse(completion, { ...ctx, stopSequences: ['END'] });
    expect(message.stop_reason).toBe('stop_sequence');
    expect(message.stop_sequence).toBe('END');
    // OpenAI does not say: end_turn
    expect(convertResponse(openaiCompletion({ content: '1, 2, 3' }), { ...ctx, stopSequences: ['END'] }).stop_reason).toBe('end_turn');
  });

  it('legacy function_call → tool_use', () => {
    const completion: OpenAIChatCompletion = {
      id: 'x',
      choices: [{ index: 0, message: { role: 'assistant', content: null, function_call: { name: 'f', arguments: '{"a":1}' } }, finish_reason: 'function_call' }],
    };
    const message = convertResponse(completion, ctx);
    expect(message.content).toEqual([{ type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'f', input: { a: 1 } }]);
    expect(message.stop_reason).toBe('tool_use');
  });

  it('content as text parts; missing id and model', () => {
    const message = convertResponse({ choices: [{ message: { content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }, finish_reason: 'stop' }] }, ctx);
    expect(message.content).toEqual([{ type: 'text', text: 'ab' }]);
    expect(message.id).toMatch(/^msg_01/);
    expect(message.model).toBe('gpt-4o');
  });
});

describe('convertResponse at the edges', () => {
  it('tool arguments sent as an object (llama.cpp) are the input as they are', () => {
    const completion = openaiCompletion({ tool_calls: [{ id: 'c', name: 'f', arguments: '{}' }] });
    (completion.choices[0].message.tool_calls[0].function as { arguments: unknown }).arguments = { city: 'Paris', days: [1, 2] };
    expect(convertResponse(completion, ctx).content).toEqual([{ type: 'tool_use', id: 'c', name: 'f', input: { city: 'Paris', days: [1, 2] } }]);
  });

  it('empty arguments are {}; arguments that are not a JSON object fail the answer as a bad upstream response', () => {
    expect(convertResponse(openaiCompletion({ tool_calls: [{ id: 'c', name: 'f', arguments: '' }] }), ctx).content[0]).toMatchObject({ input: {} });
    for (const args of ['{"city": "Par', '[1]', '"text"', 'city=Paris', '{"a": 1} {"a": 1}']) {
      const err = failure(openaiCompletion({ tool_calls: [{ id: 'call_9', name: 'get_weather', arguments: args }] }));
      expect(err.status).toBe(502);
      expect(err.upstream?.kind).toBe('bad_response');
      expect(err.message).toContain('call_9 (get_weather)');
    }
  });

  it('arguments cut by the token limit become what the SDK makes of the same text streamed', () => {
    const completion = openaiCompletion({ tool_calls: [{ id: 'c', name: 'write', arguments: '{"path": "a.ts", "content": "line 1\\nli' }], finish_reason: 'length' });
    const message = convertResponse(completion, ctx);
    expect(message.content).toEqual([{ type: 'tool_use', id: 'c', name: 'write', input: { path: 'a.ts' } }]);
    expect(message.stop_reason).toBe('max_tokens');
  });

  it('finish_reason abort or error (vLLM) fails the answer, like a 5xx', () => {
    for (const reason of ['abort', 'error']) {
      const err = failure(openaiCompletion({ content: 'Half an ans', finish_reason: reason }));
      expect(err.status).toBe(502);
      expect(err.type).toBe('api_error');
      expect(err.upstream).toMatchObject({ provider: 'openai', model: 'gpt-4o', kind: 'aborted' });
      expect(err.message).toContain(`finish_reason "${reason}"`);
    }
  });

  it('an enforced stop sequence cuts the text before it and drops the tool calls after it', () => {
    const completion = openaiCompletion({
      content: 'Step 1. Step 2. <<END>> Step 3.',
      tool_calls: [{ id: 'c', name: 'f', arguments: '{}' }],
      finish_reason: 'tool_calls',
    });
    const message = convertResponse(completion, { ...ctx, enforcedStops: ['<<END>>', 'Step 4'] });
    expect(message.content).toEqual([{ type: 'text', text: 'Step 1. Step 2. ' }]);
    expect(message).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: '<<END>>' });
    // no match: the answer as it is
    expect(convertResponse(completion, { ...ctx, enforcedStops: ['Step 4'] }).stop_reason).toBe('tool_use');
  });
});
