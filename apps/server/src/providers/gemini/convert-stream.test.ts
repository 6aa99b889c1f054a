import { readFileSync } from 'node:fs';
import { checkEventOrder, parseSse } from '@conduit/testkit';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import { classifyFailure } from '../../routing/failure.js';
import { SseParser } from '../sse-parser.js';
import { convertResponse } from './convert-response.js';
import { GeminiStreamConverter } from './convert-stream.js';
import { GeminiToolNames } from './tool-names.js';

const target = { provider: 'gemini', model: 'gemini-3-pro-preview' };
const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');

/** Feeds a recorded stream through the converter in pieces of `size` bytes; returns the events and the failure, if any. */
function run(name: string, size = 37): { events: Array<{ event: string; data: any }>; error?: unknown } {
  const converter = new GeminiStreamConverter({ target, toolNames: new GeminiToolNames() });
  const parser = new SseParser();
  const bytes = Buffer.from(fixture(name));
  let text = '';
  try {
    for (let i = 0; i < bytes.length; i += size) {
      for (const ev of parser.push(bytes.subarray(i, i + size))) for (const f of converter.pushData(ev.data)) text += `event: ${f.event}\ndata: ${f.data}\n\n`;
    }
    for (const ev of parser.flush()) for (const f of converter.pushData(ev.data)) text += `event: ${f.event}\ndata: ${f.data}\n\n`;
    for (const f of converter.end()) text += `event: ${f.event}\ndata: ${f.data}\n\n`;
  } catch (error) {
    return { events: parseSse(text), error };
  }
  return { events: parseSse(text) };
}

/** The message an SDK accumulates from the events. */
function accumulate(events: Array<{ event: string; data: any }>): any {
  let message: any;
  const json = new Map<number, string>();
  for (const { data } of events) {
    if (data.type === 'message_start') message = structuredClone(data.message);
    else if (data.type === 'content_block_start') message.content[data.index] = structuredClone(data.content_block);
    else if (data.type === 'content_block_delta') {
      const b = message.content[data.index];
      const d = data.delta;
      if (d.type === 'text_delta') b.text += d.text;
      else if (d.type === 'thinking_delta') b.thinking += d.thinking;
      else if (d.type === 'signature_delta') b.signature = d.signature;
      else if (d.type === 'input_json_delta') json.set(data.index, (json.get(data.index) ?? '') + d.partial_json);
    } else if (data.type === 'content_block_stop' && json.has(data.index)) message.content[data.index].input = JSON.parse(json.get(data.index)!);
    else if (data.type === 'message_delta') Object.assign(message, data.delta, { usage: { ...message.usage, ...data.usage } });
  }
  return message;
}

describe('Gemini stream → Anthropic events', () => {
  it('text: one text block, usage with cached and thinking tokens, in any chunking', () => {
    for (const size of [7, 64, 100_000]) {
      const { events, error } = run('gemini-2.5-flash-text.sse.txt', size);
      expect(error).toBeUndefined();
      expect(checkEventOrder(events)).toEqual([]);
      const message = accumulate(events);
      expect(message).toMatchObject({
        id: 'msg_qW1DaPjHGI3Sz7IPkNnTgQk',
        model: 'gemini-2.5-flash',
        content: [{ type: 'text', text: 'The capital of France is Paris. It sits on the Seine and is known for the Eiffel Tower.' }],
        stop_reason: 'end_turn',
        usage: { input_tokens: 5, cache_read_input_tokens: 4, output_tokens: 53 },
      });
      expect(events[0]!.data.message.usage.input_tokens).toBe(9);
    }
  });

  it('Gemini 3: thoughts then a signed call → thinking (with the call’s signature) then tool_use, stop tool_use; the JSON answer is the same message', () => {
    const { events, error } = run('gemini-3-pro-function-call.sse.txt');
    expect(error).toBeUndefined();
    expect(checkEventOrder(events)).toEqual([]);
    const streamed = accumulate(events);
    const json = convertResponse(JSON.parse(fixture('gemini-3-pro-function-call.json')), { target, toolNames: new GeminiToolNames() });
    expect(streamed).toEqual(json);
    expect(json.content).toEqual([
      {
        type: 'thinking',
        thinking: '**Checking the weather**\n\nThe user wants the current weather in Paris, so I will call get_weather with city Paris.',
        signature: expect.stringMatching(/^gemini:call:CiIBjz1rX7Vz0rj1/),
      },
      { type: 'tool_use', id: expect.stringMatching(/^toolu_[A-Za-z0-9_-]{24}$/), name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } },
    ]);
    expect(json.stop_reason).toBe('tool_use');
    expect(json.usage).toEqual({ input_tokens: 71, output_tokens: 130, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  });

  it('Gemini 3: a text answer signed on a final empty part → text, then a thinking block holding the text’s signature', () => {
    const message = accumulate(run('gemini-3-pro-text-signature.sse.txt').events);
    expect(message.content).toEqual([
      { type: 'text', text: 'Hello! How can I help you today?' },
      { type: 'thinking', thinking: '', signature: expect.stringMatching(/^gemini:text:EpQCCpEC/) },
    ]);
    expect(message.stop_reason).toBe('end_turn');
  });

  it('parallel calls: the signed first call, then the second; distinct stable ids', () => {
    const first = accumulate(run('gemini-2.5-pro-parallel-calls.sse.txt').events);
    const again = accumulate(run('gemini-2.5-pro-parallel-calls.sse.txt', 5).events);
    expect(first.content.map((b: any) => b.type)).toEqual(['thinking', 'tool_use', 'tool_use']);
    expect(first.content.slice(1).map((b: any) => b.input)).toEqual([{ city: 'Paris' }, { city: 'London' }]);
    expect(first.content[1].id).not.toBe(first.content[2].id);
    expect(again.content.map((b: any) => b.id)).toEqual(first.content.map((b: any) => b.id));
  });

  it('a blocked prompt: a final content-policy 400 before any event', () => {
    const { events, error } = run('gemini-prompt-blocked.sse.txt');
    expect(events).toEqual([]);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ status: 400, type: 'invalid_request_error', message: expect.stringContaining('blocked by Gemini\'s content filter (PROHIBITED_CONTENT)') });
    expect(classifyFailure(error, true)).toBe('final');
  });

  it('an error chunk after content: the events so far, then the error (503), never message_stop', () => {
    const { events, error } = run('gemini-2.5-flash-error-mid-stream.sse.txt');
    expect(events.map((e) => e.event)).toEqual(['message_start', 'content_block_start', 'content_block_delta']);
    expect(error).toMatchObject({ status: 503, type: 'overloaded_error', message: expect.stringContaining('UNAVAILABLE mid-stream: The model is overloaded') });
  });

  it('SAFETY after content: the text so far, stop_reason refusal', () => {
    const message = accumulate(run('gemini-2.5-flash-safety.sse.txt').events);
    expect(message.content).toEqual([{ type: 'text', text: 'Here is how you' }]);
    expect(message.stop_reason).toBe('refusal');
  });

  it('a stream cut before its finishReason throws; so does a chunk that is not JSON', () => {
    const cut = fixture('gemini-2.5-flash-text.sse.txt').split('\r\n\r\n').slice(0, 2).join('\r\n\r\n') + '\r\n\r\n';
    const converter = new GeminiStreamConverter({ target, toolNames: new GeminiToolNames() });
    for (const ev of new SseParser().push(cut)) converter.pushData(ev.data);
    expect(() => converter.end()).toThrow(/ended before a finishReason \(cut off\)/);
    expect(() => new GeminiStreamConverter({ target, toolNames: new GeminiToolNames() }).pushData('{"candidates": [')).toThrow(/not JSON/);
    expect(() => new GeminiStreamConverter({ target, toolNames: new GeminiToolNames() }).end()).toThrow(/before its first chunk/);
  });

  it('a failed function call (MALFORMED_FUNCTION_CALL) is a malformed answer: retried or sent to a fallback', () => {
    const converter = new GeminiStreamConverter({ target, toolNames: new GeminiToolNames() });
    let error: unknown;
    try {
      converter.push({ candidates: [{ content: { parts: [] }, finishReason: 'MALFORMED_FUNCTION_CALL', finishMessage: 'Malformed function call: print(x' }] });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ status: 502, type: 'api_error', message: expect.stringContaining('MALFORMED_FUNCTION_CALL') });
    expect(classifyFailure(error, true)).toBe('transient');
  });
});
