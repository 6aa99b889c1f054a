import { describe, expect, it } from 'vitest';
import {
  anthropicError,
  anthropicErrorEvent,
  anthropicMessage,
  anthropicSseEvents,
  checkEventOrder,
  openaiChunks,
  openaiCompletion,
  openaiError,
  parseSse,
} from '../src/index.js';
import type { SseEvent } from '../src/index.js';

/** Rebuilds the content blocks from a stream the way the official SDK accumulates them. */
function accumulate(events: SseEvent[]): any[] {
  const content: any[] = [];
  const json: string[] = [];
  for (const { data } of events) {
    if (data.type === 'content_block_start') {
      content[data.index] = structuredClone(data.content_block);
      json[data.index] = '';
    } else if (data.type === 'content_block_delta') {
      const block = content[data.index];
      const d = data.delta;
      if (d.type === 'text_delta') block.text += d.text;
      else if (d.type === 'input_json_delta') json[data.index] += d.partial_json;
      else if (d.type === 'thinking_delta') block.thinking += d.thinking;
      else if (d.type === 'signature_delta') block.signature = d.signature;
    } else if (data.type === 'content_block_stop' && json[data.index]) {
      content[data.index].input = JSON.parse(json[data.index]);
    }
  }
  return content;
}

describe('anthropicMessage', () => {
  it('fills realistic defaults', () => {
    const message = anthropicMessage({ text: 'Hi there' });
    expect(message).toEqual({
      id: expect.stringMatching(/^msg_/),
      type: 'message',
      role: 'assistant',
      model: expect.any(String),
      content: [{ type: 'text', text: 'Hi there' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: {
        input_tokens: 10,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
        output_tokens: 2,
        service_tier: 'standard',
      },
    });
  });

  it('defaults stop_reason to tool_use when there is a tool_use block, and merges usage', () => {
    const message = anthropicMessage({
      content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: 1 } }],
      usage: { input_tokens: 42, cache_read_input_tokens: 7 },
    });
    expect(message.stop_reason).toBe('tool_use');
    expect(message.usage).toMatchObject({ input_tokens: 42, cache_read_input_tokens: 7 });
  });
});

describe('anthropicSseEvents', () => {
  const message = anthropicMessage({
    content: [
      { type: 'thinking', thinking: 'The user wants the weather in Paris.', signature: 'sig-abc' },
      { type: 'text', text: 'Let me look that up for you. 🌤️ One moment.' },
      { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris', units: 'metric' } },
    ],
    usage: { input_tokens: 30, output_tokens: 25 },
  });
  const frames = anthropicSseEvents(message, { textChunkSize: 6 });
  const events = parseSse(frames.join(''));

  it('formats every frame as event + data with matching type', () => {
    for (const frame of frames) expect(frame).toMatch(/^event: (\w+)\ndata: \{"type":"\1"[^\n]*\}\n\n$/);
    expect(checkEventOrder(events)).toEqual([]);
  });

  it('starts with an empty message and ends with message_delta then message_stop', () => {
    expect(events[0].data.message).toMatchObject({ content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 30, output_tokens: 1 } });
    expect(events[1].event).toBe('ping');
    expect(events.at(-2)!.data).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { output_tokens: 25 },
    });
    expect(events.at(-1)!.event).toBe('message_stop');
  });

  it('rebuilds exactly the original content', () => {
    expect(accumulate(events)).toEqual(message.content);
  });

  it('streams a thinking block as thinking_delta pieces then one signature_delta before its stop', () => {
    const block0 = events.filter((e) => e.data.index === 0).map((e) => e.data.delta?.type ?? e.event);
    expect(block0[0]).toBe('content_block_start');
    expect(block0.slice(1, -2).every((t) => t === 'thinking_delta')).toBe(true);
    expect(block0.slice(1, -2).length).toBeGreaterThan(1);
    expect(block0.slice(-2)).toEqual(['signature_delta', 'content_block_stop']);
    expect(events.find((e) => e.event === 'content_block_start')!.data.content_block).toEqual({ type: 'thinking', thinking: '', signature: '' });
  });

  it('opens tool_use with input {} and sends the JSON in several pieces after an empty one', () => {
    const start = events.find((e) => e.data.content_block?.type === 'tool_use')!;
    expect(start.data.content_block).toEqual({ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: {} });
    const pieces = events.filter((e) => e.data.delta?.type === 'input_json_delta').map((e) => e.data.delta.partial_json);
    expect(pieces[0]).toBe('');
    expect(pieces.length).toBeGreaterThan(3);
  });

  it('never splits a surrogate pair across text deltas', () => {
    const texts = events.filter((e) => e.data.delta?.type === 'text_delta').map((e) => e.data.delta.text as string);
    for (const t of texts) expect(t).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
  });

  it('can split text into an exact number of deltas and leave out the ping', () => {
    const evs = parseSse(anthropicSseEvents(anthropicMessage({ text: 'abcdefghij' }), { textChunks: 3, ping: false }).join(''));
    expect(evs.map((e) => e.event)).not.toContain('ping');
    expect(evs.filter((e) => e.data.delta?.type === 'text_delta').map((e) => e.data.delta.text)).toEqual(['abc', 'def', 'ghij']);
  });
});

describe('Anthropic errors', () => {
  it('builds the error envelope with status and request id', () => {
    const reply = anthropicError(529, 'overloaded_error', 'Overloaded');
    expect(reply).toEqual({
      kind: 'json',
      status: 529,
      headers: { 'request-id': expect.stringMatching(/^req_/) },
      body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' }, request_id: expect.stringMatching(/^req_/) },
    });
    expect((anthropicError(429) as any).body.error.type).toBe('rate_limit_error');
  });

  it('builds the in-stream error frame', () => {
    expect(parseSse(anthropicErrorEvent())).toEqual([{ event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } }]);
  });
});

describe('openaiCompletion', () => {
  it('builds a chat.completion with tool calls, reasoning and cached tokens', () => {
    const completion = openaiCompletion({
      model: 'gpt-x',
      reasoning_content: 'thinking...',
      tool_calls: [{ id: 'call_1', name: 'f', arguments: '{"a":1}' }],
      usage: { prompt_tokens: 100, completion_tokens: 20, cached_tokens: 60 },
    });
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-x',
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: null,
            reasoning_content: 'thinking...',
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
          },
        },
      ],
      usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120, prompt_tokens_details: { cached_tokens: 60 } },
    });
  });
});

describe('openaiChunks', () => {
  const calls = [
    { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
    { id: 'call_b', name: 'get_time', arguments: '{}' },
  ];
  const parse = (frames: string[]) => frames.map((f) => f.slice('data: '.length, -2)).map((d) => (d === '[DONE]' ? d : JSON.parse(d)));

  it('interleaves parallel tool call fragments the way compatible servers send them', () => {
    const chunks = parse(openaiChunks({ tool_calls: calls, interleaveToolCalls: true, chunkSize: 8 }));
    expect(chunks.at(-1)).toBe('[DONE]');
    const choices = chunks.slice(0, -1).map((c: any) => c.choices[0]);
    expect(choices.map((c: any) => c.delta)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }],
        refusal: null,
      },
      { tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] },
      { tool_calls: [{ index: 1, function: { arguments: '{}' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] },
      {},
    ]);
    expect(choices.map((c: any) => c.finish_reason)).toEqual([null, null, null, null, null, 'tool_calls']);
  });

  it('sends one call after another without interleaving', () => {
    const chunks = parse(openaiChunks({ tool_calls: calls, chunkSize: 8 })).slice(0, -1);
    const order = chunks.flatMap((c: any) => c.choices[0].delta.tool_calls ?? []).map((t: any) => t.index);
    expect(order).toEqual([0, 0, 0, 1, 1]);
  });

  it('streams role, reasoning, content, finish and a usage chunk with empty choices', () => {
    const chunks = parse(
      openaiChunks({ content: 'Hello world', reasoning_content: 'hmm', chunkSize: 5, includeUsage: true, usage: { prompt_tokens: 9, completion_tokens: 3, cached_tokens: 4 } }),
    );
    const body = chunks.slice(0, -1) as any[];
    expect(body.map((c) => (c.choices.length ? c.choices[0].delta : 'usage'))).toEqual([
      { role: 'assistant', content: '', refusal: null },
      { reasoning_content: 'hmm' },
      { content: 'Hello' },
      { content: ' worl' },
      { content: 'd' },
      {},
      'usage',
    ]);
    expect(body.slice(0, -1).every((c) => c.usage === null && c.object === 'chat.completion.chunk')).toBe(true);
    expect(body.at(-1).usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 3, total_tokens: 12, prompt_tokens_details: { cached_tokens: 4 } });
  });

  it('can leave out [DONE], as some servers do', () => {
    const frames = openaiChunks({ content: 'x', done: false });
    expect(frames.at(-1)).not.toContain('[DONE]');
    expect(frames.every((f) => !('usage' in JSON.parse(f.slice(6))))).toBe(true);
  });
});

describe('openaiError', () => {
  it('builds the OpenAI error body', () => {
    expect(openaiError(429, 'Rate limit reached', undefined, 'rate_limit_exceeded')).toEqual({
      kind: 'json',
      status: 429,
      body: { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
    });
    expect((openaiError(500, 'oops') as any).body.error).toEqual({ message: 'oops', type: 'server_error', param: null, code: null });
  });
});
