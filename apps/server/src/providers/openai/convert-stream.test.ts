import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { Message, MessageStreamEvent } from '../../generated/types.gen.js';
import { SseParser } from '../sse-parser.js';
import { MAX_HELD_CHARS, MAX_STREAM_TOOL_CALLS, OpenAIStreamConverter, PlainTextReader, type StreamContext } from './convert-stream.js';
import type { OpenAIChatChunk } from './openai-types.js';
import { ToolNameMap } from './tool-names.js';

const target = { provider: 'openai', model: 'gpt-4o' };

function fixture(name: string): string {
  return readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');
}

/** Feeds SSE text to the converter in pieces of `step` bytes, as the network would, then ends the body. */
function replay(text: string, ctx: Partial<StreamContext> = {}, step = 37): MessageStreamEvent[] {
  const converter = new OpenAIStreamConverter({ target, toolNames: new ToolNameMap(), ...ctx });
  const parser = new SseParser();
  const events: MessageStreamEvent[] = [];
  const collect = (frames: { event: string; data: string }[]) => {
    for (const f of frames) {
      const ev = JSON.parse(f.data) as MessageStreamEvent;
      expect(f.event).toBe(ev.type);
      // The stream guard trusts these frames unparsed (wellFormed): each must be exactly JSON.stringify of its event.
      expect(f.data).toBe(JSON.stringify(ev));
      events.push(ev);
    }
  };
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += step) {
    for (const ev of parser.push(bytes.subarray(i, i + step))) collect(converter.pushData(ev.data, ev.event));
  }
  for (const ev of parser.flush()) collect(converter.pushData(ev.data, ev.event));
  collect(converter.end('eof'));
  return events;
}

/** Runs the converter on parsed chunks, then [DONE]. */
function run(chunks: OpenAIChatChunk[], ctx: Partial<StreamContext> = {}): MessageStreamEvent[] {
  const text = chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + 'data: [DONE]\n\n';
  return replay(text, ctx);
}

/** The Anthropic event-order rules: one message_start first, blocks 0..n-1 one at a time, delta then stop last. */
function checkOrder(events: MessageStreamEvent[]): void {
  expect(events[0]?.type).toBe('message_start');
  expect(events.filter((e) => e.type === 'message_start')).toHaveLength(1);
  let open: number | undefined;
  let next = 0;
  for (const ev of events.slice(1, -2)) {
    if (ev.type === 'content_block_start') {
      expect(open).toBeUndefined();
      expect(ev.index).toBe(next);
      open = ev.index;
    } else if (ev.type === 'content_block_delta') {
      expect(ev.index).toBe(open);
    } else if (ev.type === 'content_block_stop') {
      expect(ev.index).toBe(open);
      open = undefined;
      next++;
    } else {
      throw new Error(`unexpected ${ev.type} between blocks`);
    }
  }
  expect(open).toBeUndefined();
  expect(events.at(-2)?.type).toBe('message_delta');
  expect(events.at(-1)?.type).toBe('message_stop');
}

/** Builds the final message the way the SDK's MessageStream does. */
function accumulate(events: MessageStreamEvent[]): Message {
  let message: Message | undefined;
  const json: string[] = [];
  for (const ev of events) {
    switch (ev.type) {
      case 'message_start':
        message = structuredClone(ev.message);
        break;
      case 'content_block_start':
        message!.content.push(structuredClone(ev.content_block));
        json[ev.index] = '';
        break;
      case 'content_block_delta': {
        const block = message!.content[ev.index] as any;
        if (ev.delta.type === 'text_delta') block.text += ev.delta.text;
        if (ev.delta.type === 'thinking_delta') block.thinking += ev.delta.thinking;
        if (ev.delta.type === 'input_json_delta') json[ev.index] += ev.delta.partial_json;
        break;
      }
      case 'content_block_stop': {
        const block = message!.content[ev.index] as any;
        if (block.type === 'tool_use' && json[ev.index]) block.input = JSON.parse(json[ev.index]!);
        break;
      }
      case 'message_delta':
        message!.stop_reason = ev.delta.stop_reason;
        message!.stop_sequence = ev.delta.stop_sequence;
        Object.assign(message!.usage, ev.usage);
        break;
    }
  }
  return message!;
}

describe('OpenAIStreamConverter on recorded streams', () => {
  it('text (OpenAI, usage-only final chunk)', () => {
    const events = replay(fixture('openai-text.chunks.txt'));
    checkOrder(events);
    expect(events[0]).toMatchObject({
      type: 'message_start',
      message: { id: 'msg_chatcmpl-BkG1rT7sY2xq9mWn3Lp8aZ0uVc4Ed', model: 'gpt-4o-2024-08-06', content: [], stop_reason: null },
    });
    // no block for the empty first delta: the text block opens with the first real text
    expect(events[1]).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    expect(events[2]).toEqual({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } });
    const message = accumulate(events);
    expect(message.content).toEqual([{ type: 'text', text: 'Hello! How can I help you today?' }]);
    expect(events.at(-2)).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 19, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
  });

  it('holds message_delta until the usage chunk that follows finish_reason', () => {
    const converter = new OpenAIStreamConverter({ target, toolNames: new ToolNameMap() });
    const base = { id: 'x', model: 'gpt-4o' };
    converter.push({ ...base, choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] });
    const atFinish = converter.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    expect(atFinish.map((f) => f.event)).toEqual(['content_block_stop']);
    const atUsage = converter.push({ ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 1 } });
    expect(atUsage.map((f) => f.event)).toEqual(['message_delta', 'message_stop']);
    expect(converter.complete).toBe(true);
    expect(converter.pushData('[DONE]')).toEqual([]);
  });

  it('parallel tool calls (OpenAI, one after the other) stream live, each its own block, cached tokens', () => {
    const events = replay(fixture('openai-parallel-tools.chunks.txt'));
    checkOrder(events);
    const starts = events.filter((e) => e.type === 'content_block_start');
    expect(starts.map((e) => (e as any).content_block)).toEqual([
      { type: 'tool_use', id: 'call_7Qm1YbE3nXoKc2sVd9TfLh0R', name: 'get_weather', input: {} },
      { type: 'tool_use', id: 'call_Rk4pZ8vN2cJw6TgHq1XbEa5M', name: 'get_weather', input: {} },
    ]);
    // the first call's fragments went out as they came, before the second call began
    const firstStop = events.findIndex((e) => e.type === 'content_block_stop');
    const firstDeltas = events.slice(0, firstStop).filter((e) => e.type === 'content_block_delta');
    expect(firstDeltas.map((e) => (e as any).delta.partial_json)).toEqual(['{"lo', 'cation', '": "Par', 'is, FR"}']);
    const message = accumulate(events);
    expect(message.content.map((b) => (b as any).input)).toEqual([{ location: 'Paris, FR' }, { location: 'Tokyo, JP' }]);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.usage).toEqual({ input_tokens: 62, output_tokens: 52, cache_creation_input_tokens: 0, cache_read_input_tokens: 1280 });
  });

  it('interleaved parallel tool calls never mix: the others are buffered and flushed in index order', () => {
    const events = replay(fixture('vllm-interleaved-tools.chunks.txt'));
    checkOrder(events);
    const message = accumulate(events);
    expect(message.content).toEqual([
      { type: 'text', text: 'Checking both files.' },
      { type: 'tool_use', id: 'chatcmpl-tool-a1', name: 'read_file', input: { path: 'src/a.ts' } },
      { type: 'tool_use', id: 'chatcmpl-tool-b2', name: 'read_file', input: { path: 'src/b.ts' } },
    ]);
    // each input_json_delta belongs to the block it is sent to
    const deltasByBlock = new Map<number, string>();
    for (const e of events) if (e.type === 'content_block_delta' && e.delta.type === 'input_json_delta') deltasByBlock.set(e.index, (deltasByBlock.get(e.index) ?? '') + e.delta.partial_json);
    expect([...deltasByBlock.values()]).toEqual(['{"path": "src/a.ts"}', '{"path": "src/b.ts"}']);
    expect(message.stop_reason).toBe('tool_use');
  });

  it('reasoning_content (DeepSeek) → a thinking block first; usage in the finish chunk ends the stream there', () => {
    const events = replay(fixture('deepseek-reasoning.chunks.txt'));
    checkOrder(events);
    const message = accumulate(events);
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'The user asks for 17 * 23. 17*23 = 391.', signature: '' },
      { type: 'text', text: '17 × 23 = **391**' },
    ]);
    expect(message.model).toBe('deepseek-reasoner');
    expect(message.usage).toEqual({ input_tokens: 20, output_tokens: 61, cache_creation_input_tokens: 0, cache_read_input_tokens: 64 });
  });

  it('`reasoning` (OpenRouter), comment lines, and no [DONE]: finalised when the body ends', () => {
    const events = replay(fixture('openrouter-reasoning-no-done.chunks.txt'));
    checkOrder(events);
    const message = accumulate(events);
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'Short question.', signature: '' },
      { type: 'text', text: 'Paris.' },
    ]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toMatchObject({ input_tokens: 15, output_tokens: 9 });
  });

  it('a stop sequence the upstream reports (vLLM stop_reason) → stop_sequence and the string', () => {
    const events = replay(fixture('vllm-stop-sequence.chunks.txt'), { stopSequences: ['END', '###'] });
    checkOrder(events);
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: 'stop_sequence', stop_sequence: 'END' }, usage: { input_tokens: 30, output_tokens: 7 } });
  });

  it('a stop sequence kept at the end of the text → stop_sequence', () => {
    const base = { id: 'x', model: 'm' };
    const events = run(
      [
        { ...base, choices: [{ index: 0, delta: { content: 'a b ST' }, finish_reason: null }] },
        { ...base, choices: [{ index: 0, delta: { content: 'OP' }, finish_reason: 'stop' }] },
      ],
      { stopSequences: ['STOP'] },
    );
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: 'stop_sequence', stop_sequence: 'STOP' } });
  });

  it('Groq: text-less tool call with usage in x_groq', () => {
    const events = replay(fixture('groq-tool-call.chunks.txt'));
    checkOrder(events);
    const message = accumulate(events);
    expect(message.content).toEqual([{ type: 'tool_use', id: 'call_x7k2', name: 'search_docs', input: { query: 'rate limits', top_k: 3 } }]);
    expect(message.usage).toMatchObject({ input_tokens: 260, output_tokens: 24 });
  });

  it('a cut stream (no finish_reason, no [DONE]) throws instead of ending cleanly', () => {
    let thrown: unknown;
    try {
      replay(fixture('openai-cut.chunks.txt'));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect((thrown as GatewayError).status).toBe(502);
    expect((thrown as GatewayError).message).toMatch(/cut off/);
  });

  it('an in-stream error chunk throws a GatewayError with its message', () => {
    expect(() => replay(fixture('openrouter-error.chunks.txt'))).toThrow(/Provider returned error/);
  });

  it('a chunk that is not JSON throws (part of the answer would be lost)', () => {
    const converter = new OpenAIStreamConverter({ target, toolNames: new ToolNameMap() });
    converter.push({ id: 'x', choices: [{ index: 0, delta: { content: 'a' } }] });
    expect(() => converter.pushData('{"id": "x", "choices": [')).toThrow(GatewayError);
  });

  it('an empty body is an error, not an empty message', () => {
    const converter = new OpenAIStreamConverter({ target, toolNames: new ToolNameMap() });
    expect(() => converter.end('eof')).toThrow(/before its first chunk/);
  });
});

describe('OpenAIStreamConverter edge cases', () => {
  const base = { id: 'c1', model: 'm' };
  const delta = (d: object, finish: string | null = null) => ({ ...base, choices: [{ index: 0, delta: d, finish_reason: finish }] });

  it('restores shortened tool names', () => {
    const names = new ToolNameMap();
    const long = 'mcp__server__'.padEnd(90, 'x');
    const short = names.toUpstream(long);
    const events = run([delta({ tool_calls: [{ index: 0, id: 'call_1', function: { name: short, arguments: '{}' } }] }), delta({}, 'tool_calls')], { toolNames: names });
    expect(accumulate(events).content).toEqual([{ type: 'tool_use', id: 'call_1', name: long, input: {} }]);
  });

  it('deltas with quotes, escapes, control characters and non-BMP text stay exact', () => {
    const tricky = ['say "hi"', 'back\\slash \n new\tline', '\u0001\u001f', 'é 😀 \u2028', '</script>', '\ud800'];
    const events = run([
      ...tricky.map((t) => delta({ content: t })),
      delta({ tool_calls: [{ index: 0, id: 'call_1', function: { name: 'f', arguments: '{"q":"\\"x\\""' } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: '}' } }] }),
      delta({}, 'tool_calls'),
    ]);
    const message = accumulate(events);
    expect(message.content[0]).toEqual({ type: 'text', text: tricky.join('') });
    expect(message.content[1]).toMatchObject({ type: 'tool_use', input: { q: '"x"' } });
  });

  it('stop WITH tool calls → tool_use', () => {
    const events = run([delta({ tool_calls: [{ index: 0, id: 'call_1', function: { name: 'f', arguments: '{"a":1}' } }] }), delta({}, 'stop')]);
    expect(accumulate(events).stop_reason).toBe('tool_use');
  });

  it('content_filter → refusal; length → max_tokens', () => {
    expect(accumulate(run([delta({ content: 'partial' }), delta({}, 'content_filter')])).stop_reason).toBe('refusal');
    expect(accumulate(run([delta({ content: 'partial' }), delta({}, 'length')])).stop_reason).toBe('max_tokens');
  });

  it('a refusal delta becomes text and stop_reason refusal', () => {
    const message = accumulate(run([delta({ refusal: "I can't help" }), delta({ refusal: ' with that.' }), delta({}, 'stop')]));
    expect(message.content).toEqual([{ type: 'text', text: "I can't help with that." }]);
    expect(message.stop_reason).toBe('refusal');
  });

  it('tool call deltas without index (Gemini, Ollama) are told apart by id', () => {
    const events = run([
      delta({ tool_calls: [{ id: 'a', function: { name: 'f', arguments: '{"x":' } }] }),
      delta({ tool_calls: [{ function: { arguments: '1}' } }] }),
      delta({ tool_calls: [{ id: 'b', function: { name: 'g', arguments: '{}' } }] }),
      delta({}, 'tool_calls'),
    ]);
    checkOrder(events);
    expect(accumulate(events).content).toEqual([
      { type: 'tool_use', id: 'a', name: 'f', input: { x: 1 } },
      { type: 'tool_use', id: 'b', name: 'g', input: {} },
    ]);
  });

  it('text after a tool call is shown after the tool blocks, never inside one', () => {
    const events = run([delta({ tool_calls: [{ index: 0, id: 'a', function: { name: 'f', arguments: '{"k":' } }] }), delta({ content: 'note' }), delta({ tool_calls: [{ index: 0, function: { arguments: '2}' } }] }), delta({}, 'tool_calls')]);
    checkOrder(events);
    expect(accumulate(events).content).toEqual([
      { type: 'tool_use', id: 'a', name: 'f', input: { k: 2 } },
      { type: 'text', text: 'note' },
    ]);
  });

  it('a tool call without id gets a generated toolu_ id', () => {
    const message = accumulate(run([delta({ tool_calls: [{ index: 0, function: { name: 'f', arguments: '{}' } }] }), delta({}, 'tool_calls')]));
    expect((message.content[0] as any).id).toMatch(/^toolu_01[A-Za-z0-9]{22}$/);
  });

  it('[DONE] without finish_reason completes with what was said', () => {
    const events = run([delta({ content: 'done anyway' })]);
    checkOrder(events);
    expect(accumulate(events).stop_reason).toBe('end_turn');
  });

  it('no usage at all (server ignored include_usage) → zeros, still a valid message_delta', () => {
    const events = run([delta({ content: 'x' }), delta({}, 'stop')]);
    expect(events.at(-2)).toMatchObject({ usage: { input_tokens: 0, output_tokens: 0 } });
  });

  it('running usage before finish_reason does not end the stream; the final usage wins', () => {
    const events = run([
      { ...delta({ content: 'a' }), usage: { prompt_tokens: 3, completion_tokens: 1 } },
      delta({}, 'stop'),
      { ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 2 } },
    ]);
    checkOrder(events);
    expect(events.at(-2)).toMatchObject({ usage: { input_tokens: 3, output_tokens: 2 } });
  });

  it('ignores choices other than index 0 and chunks after message_stop', () => {
    const converter = new OpenAIStreamConverter({ target, toolNames: new ToolNameMap() });
    converter.push({ ...base, choices: [{ index: 1, delta: { content: 'other' } }, { index: 0, delta: { content: 'mine' } }] });
    converter.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1 } });
    expect(converter.complete).toBe(true);
    expect(converter.push({ ...base, choices: [{ index: 0, delta: { content: 'late' } }] })).toEqual([]);
  });
});

/** Replays a stream that must fail: the events produced before the failure, and the failure. */
function replayFailing(text: string, ctx: Partial<StreamContext> = {}): { events: MessageStreamEvent[]; error: GatewayError } {
  const converter = new OpenAIStreamConverter({ target, toolNames: new ToolNameMap(), ...ctx });
  const parser = new SseParser();
  const events: MessageStreamEvent[] = [];
  try {
    for (const ev of [...parser.push(text), ...parser.flush()]) for (const f of converter.pushData(ev.data, ev.event)) events.push(JSON.parse(f.data));
    for (const f of converter.end('eof')) events.push(JSON.parse(f.data));
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return { events, error: err as GatewayError };
  }
  throw new Error('expected the stream to fail');
}

describe('OpenAIStreamConverter at the edges of real servers', () => {
  const base = { id: 'c1', model: 'm' };
  const delta = (d: object, finish: string | null = null) => ({ ...base, choices: [{ index: 0, delta: d, finish_reason: finish }] });

  it('Ollama numbers every parallel call 0: a new id at a used index is a new tool_use block', () => {
    for (const step of [7, 37, 4096]) {
      const events = replay(fixture('ollama-parallel-tools-same-index.chunks.txt'), {}, step);
      checkOrder(events);
      const message = accumulate(events);
      expect(message.content).toEqual([
        { type: 'tool_use', id: 'call_k3m9x2qd', name: 'file_write', input: { filePath: 'hello.py', content: 'print("hello")' } },
        { type: 'tool_use', id: 'call_p7t4w1zn', name: 'file_write', input: { filePath: 'world.py', content: 'print("world")' } },
      ]);
      expect(message.stop_reason).toBe('tool_use');
    }
  });

  it('the same id again at an index is the same call (servers that repeat the id on every fragment)', () => {
    const events = run([
      delta({ tool_calls: [{ index: 0, id: 'a', function: { name: 'f', arguments: '{"x":' } }] }),
      delta({ tool_calls: [{ index: 0, id: 'a', function: { arguments: '1}' } }] }),
      delta({}, 'tool_calls'),
    ]);
    expect(accumulate(events).content).toEqual([{ type: 'tool_use', id: 'a', name: 'f', input: { x: 1 } }]);
  });

  it('llama.cpp sends tool arguments as an object in the delta: they become the input', () => {
    const events = replay(fixture('llama-cpp-tool-args-object.chunks.txt'));
    checkOrder(events);
    const message = accumulate(events);
    expect(message.content).toEqual([
      { type: 'text', text: 'Checking the forecast.' },
      { type: 'tool_use', id: 'NlWWnBjxTd4RpvUDYGOpAHqxh4G3pJsY', name: 'get_weather', input: { city: 'Paris', unit: 'celsius', days: [1, 2] } },
    ]);
    expect(message.usage).toMatchObject({ input_tokens: 212, output_tokens: 31 });
  });

  it('malformed tool arguments (llama.cpp) fail the stream: no message_stop', () => {
    const { events, error } = replayFailing(fixture('llama-cpp-malformed-tool-args.chunks.txt'));
    expect(error.status).toBe(502);
    expect(error.upstream?.kind).toBe('bad_response');
    expect(error.message).toContain('Qz7Lp2Xv9Nc4Rb1Ty6Hw3Ks8Dm5Fj0Ga (thread_fetch_messages)');
    expect(events.map((e) => e.type)).not.toContain('message_stop');
  });

  it('arguments that cannot start a JSON object fail at once, before the tool block shows anything', () => {
    const converter = new OpenAIStreamConverter({ target, toolNames: new ToolNameMap() });
    const started = converter.push(delta({ tool_calls: [{ index: 0, id: 'a', function: { name: 'f', arguments: '' } }] }));
    expect(started.map((f) => f.event)).toEqual(['message_start', 'content_block_start']);
    expect(() => converter.push(delta({ tool_calls: [{ index: 0, function: { arguments: 'city=Paris' } }] }))).toThrow(/not a JSON object/);
  });

  it('unfinished arguments at finish_reason tool_calls fail; at length they stand, cut (the SDK reads what came)', () => {
    const unfinished = [delta({ tool_calls: [{ index: 0, id: 'a', function: { name: 'f', arguments: '{"path": "a.ts", "content": "hel' } }] })];
    expect(() => run([...unfinished, delta({}, 'tool_calls')])).toThrow(/not a JSON object/);
    const events = run([...unfinished, delta({}, 'length')]);
    checkOrder(events);
    const json = events.filter((e) => e.type === 'content_block_delta').map((e) => (e as any).delta.partial_json).join('');
    expect(json).toBe('{"path": "a.ts", "content": "hel');
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: 'max_tokens' } });
  });

  it('whitespace-only argument fragments are never sent (the SDK cannot read them)', () => {
    const events = run([
      delta({ tool_calls: [{ index: 0, id: 'a', function: { name: 'f', arguments: ' ' } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: '\n' } }] }),
      delta({ tool_calls: [{ index: 1, id: 'b', function: { name: 'g', arguments: ' {"y": 2}' } }] }),
      delta({}, 'tool_calls'),
    ]);
    const deltas = events.filter((e) => e.type === 'content_block_delta').map((e) => [(e as any).index, (e as any).delta.partial_json]);
    expect(deltas).toEqual([[1, ' {"y": 2}']]);
    expect(accumulate(events).content.map((b) => (b as any).input)).toEqual([{}, { y: 2 }]);
  });

  it('vLLM ends an aborted request with finish_reason "abort" and [DONE]: the stream fails, never message_stop', () => {
    const { events, error } = replayFailing(fixture('vllm-abort.chunks.txt'));
    expect(error.status).toBe(502);
    expect(error.upstream).toMatchObject({ kind: 'aborted' });
    expect(accumulate([...events, { type: 'message_stop' } as MessageStreamEvent]).content).toEqual([{ type: 'text', text: 'One, two, three, four,' }]);
    expect(events.map((e) => e.type)).not.toContain('message_delta');
    const early = replayFailing(fixture('vllm-abort-before-content.chunks.txt'));
    expect(early.error.upstream?.kind).toBe('aborted');
    // nothing of the answer went out: the router may still retry it
    expect(early.events.map((e) => e.type)).toEqual(['message_start']);
    expect(() => run([delta({ content: 'x' }), delta({}, 'error')])).toThrow(/finish_reason "error"/);
  });

  it('Azure OpenAI opens with a chunk whose id and model are empty: message_start takes them from the next chunk', () => {
    const events = replay(fixture('azure-first-chunk-empty-id.chunks.txt'));
    checkOrder(events);
    expect(events[0]).toMatchObject({ type: 'message_start', message: { id: 'msg_chatcmpl-BqZ7xW2nR4tY8uI0oP3aS6dF9gH1j', model: 'gpt-4o-2024-11-20' } });
    expect(accumulate(events).content).toEqual([{ type: 'text', text: 'This is a test.' }]);
  });

  it('message_start is not held past the first content: without any id, content opens the message', () => {
    const converter = new OpenAIStreamConverter({ target, toolNames: new ToolNameMap() });
    expect(converter.push({ id: '', model: '', choices: [] })).toEqual([]);
    expect(converter.push({ id: '', model: 'gpt-4o-2024-11-20', choices: [{ index: 0, delta: { role: 'assistant' } }] })).toEqual([]);
    const frames = converter.push({ id: '', model: '', choices: [{ index: 0, delta: { content: 'Hi' } }] });
    expect(frames.map((f) => f.event)).toEqual(['message_start', 'content_block_start', 'content_block_delta']);
    expect(JSON.parse(frames[0]!.data).message).toMatchObject({ id: expect.stringMatching(/^msg_01/), model: 'gpt-4o-2024-11-20' });
  });

  it('sse-starlette (llama-cpp-python) CR LF line ends, read in any pieces', () => {
    for (const step of [1, 2, 5, 37]) {
      const events = replay(fixture('llama-cpp-python-crlf.chunks.txt'), {}, step);
      checkOrder(events);
      expect(accumulate(events).content).toEqual([{ type: 'text', text: 'Line one. Line two.' }]);
    }
  });

  it('an enforced stop sequence ends the text before it, even split across chunks; the rest is read but not shown', () => {
    const converter = new OpenAIStreamConverter({ target, toolNames: new ToolNameMap(), stopSequences: ['a', 'b', 'c', 'd', '<END>'], enforcedStops: ['<END>'] });
    const shown: MessageStreamEvent[] = [];
    const push = (chunk: object) => {
      for (const f of converter.push(chunk as never)) shown.push(JSON.parse(f.data));
    };
    push(delta({ content: 'Alpha <E' }));
    // the last four characters could still be part of "<END>": held back
    expect(shown.filter((e) => e.type === 'content_block_delta').map((e) => (e as any).delta.text)).toEqual(['Alph']);
    push(delta({ content: 'ND> Beta' }));
    expect(converter.discarding).toBe(true);
    push(delta({ content: ' Gamma', tool_calls: [{ index: 0, id: 'x', function: { name: 'f', arguments: '{}' } }] }));
    push(delta({}, 'stop'));
    push({ ...base, choices: [], usage: { prompt_tokens: 5, completion_tokens: 40 } });
    expect(converter.complete).toBe(true);
    checkOrder(shown);
    const message = accumulate(shown);
    expect(message.content).toEqual([{ type: 'text', text: 'Alpha ' }]);
    expect(message).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: '<END>', usage: { input_tokens: 5, output_tokens: 40 } });
  });

  it('text held back for a stop sequence is released when the text ends without one', () => {
    const events = run([delta({ content: 'almost <EN' }), delta({}, 'stop')], { enforcedStops: ['<END>'] });
    expect(accumulate(events).content).toEqual([{ type: 'text', text: 'almost <EN' }]);
    expect(accumulate(events).stop_reason).toBe('end_turn');
  });
});

describe('plain text chunks, read without parsing', () => {
  const head = '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":';
  /** One chunk read on its own, by a reader that has proven no head yet. */
  const plainTextChunk = (data: string) => new PlainTextReader().read(data);
  const text = (content: string, after = '') => `${head}{"content":${JSON.stringify(content)}},"logprobs":null,"finish_reason":null}]${after}}`;

  it('reads the text of the chunks OpenAI, vLLM and Ollama send', () => {
    expect(plainTextChunk(text('Hello'))).toBe('Hello');
    expect(plainTextChunk(text('a "quoted" \\ line\n\u0001 é 😀'))).toBe('a "quoted" \\ line\n\u0001 é 😀');
    expect(plainTextChunk(text('x', ',"usage":null,"obfuscation":"Zq"'))).toBe('x');
    // Ollama: role on every chunk, no logprobs, the fingerprint before the choices
    expect(plainTextChunk('{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"llama3","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"The"},"finish_reason":null}]}')).toBe('The');
  });

  it('leaves every chunk that carries anything else to the full parser', () => {
    const others = [
      text('x', ',"usage":{"prompt_tokens":1,"completion_tokens":2}'),
      text('x', ',"x_groq":{"usage":{"prompt_tokens":1}}'),
      text('x', ',"error":{"message":"boom"}'),
      text('x').replace('"finish_reason":null', '"finish_reason":"stop"'),
      text('x').replace('"finish_reason":null', '"finish_reason":null,"stop_reason":"END"'),
      text('x').replace('"index":0', '"index":1'),
      text('x').replace('}]', '},{"index":1,"delta":{"content":"y"},"finish_reason":null}]'),
      text('x').replace('"content":', '"reasoning_content":'),
      text('x').replace('"content":', '"con\\u0074ent":'),
      text('x').replace('{"content":', '{"content":"a","content":'),
      text('x').replace('"id":', '"i\\u0064":'),
      text('x').replace('"model":"m"', '"model":{"a":1}'),
      text('x').replace('"logprobs":null', '"logprobs":{"content":[]}'),
      text('x').replace(',"finish_reason":null', ''),
      text('x').replace('"created":1', '"created":01'),
      text('x').replace('"content":"x"', '"content":"\u0001"'),
      text('x').replace('"content":"x"', '"content":"\\x"'),
      text('x').replace('"content":"x"', '"content":null'),
      text('x') + ' ',
      text('x').replace('{"content"', '{ "content"'),
    ];
    for (const data of others) expect([data, plainTextChunk(data)]).toEqual([data, undefined]);
  });

  it('a head already proven is compared, and what follows it is still read in full', () => {
    const reader = new PlainTextReader();
    expect(reader.read(text('one'))).toBe('one');
    expect(reader.read(text('two'))).toBe('two');
    expect(reader.read(text('x').replace('"content":"x"}', '"content":"x","tool_calls":[]}'))).toBeUndefined();
    expect(reader.read(text('x').replace('"content":"x"', '"content":null'))).toBeUndefined();
    expect(reader.read(text('x', ',"usage":{"prompt_tokens":1}'))).toBeUndefined();
    expect(reader.read(text('x').replace('"finish_reason":null', '"finish_reason":"stop"'))).toBeUndefined();
    // another head (the model changed) is matched again, then kept
    expect(reader.read(text('three').replace('"model":"m"', '"model":"n"'))).toBe('three');
    expect(reader.read(text('four'))).toBe('four');
    expect(reader.read(text('five').replace('"model":"m"', '"model":{}'))).toBeUndefined();
  });

  it('gives exactly the events the parsed chunk gives, stop sequences included', () => {
    const field = fc.constantFrom('"id":"c1"', '"object":"chat.completion.chunk"', '"created":-1.5e3', '"model":"m\\"x"', '"usage":null', '"service_tier":"default"', '"system_fingerprint":null');
    const chunk = fc.record({
      content: fc.string({ maxLength: 12, unit: fc.constantFrom('a', 'b', '<', '<E', 'ND>', '<END>', '"', '\\', '\n', '\u0000', '\u2028', '\ud800', 'é') }),
      // most chunks of a stream start alike; some do not
      before: fc.option(fc.array(field, { maxLength: 3 }), { freq: 2 }),
      after: fc.array(field, { maxLength: 2 }),
      role: fc.boolean(),
      logprobs: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(chunk, { minLength: 1, maxLength: 8 }), fc.array(field, { maxLength: 3 }), fc.boolean(), fc.boolean(), (chunks, head, enforce, late) => {
        const ctx = { target, toolNames: new ToolNameMap(), stopSequences: ['<END>'], enforcedStops: enforce ? ['<END>'] : undefined };
        const fast = new OpenAIStreamConverter(ctx);
        const parsed = new OpenAIStreamConverter(ctx);
        const first = `{"id":"c1","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`;
        const datas = [first];
        for (const c of chunks) {
          const delta = `{${c.role ? '"role":"assistant",' : ''}"content":${JSON.stringify(c.content)}}`;
          const choice = `{"index":0,"delta":${delta}${c.logprobs ? ',"logprobs":null' : ''},"finish_reason":null}`;
          datas.push(`{${[...(c.before ?? head), `"choices":[${choice}]`, ...c.after].join(',')}}`);
        }
        datas.push('{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}');
        // a server that sends text after its finish_reason: that text is not part of the answer
        if (late) datas.push(datas[1]!);
        datas.push('{"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}');
        const a = datas.flatMap((d) => fast.pushData(d)).concat(fast.end('done'));
        const b = datas.flatMap((d) => parsed.push(JSON.parse(d))).concat(parsed.end('done'));
        expect(a).toEqual(b);
        expect(datas.slice(1, chunks.length + 1).every((d) => plainTextChunk(d) !== undefined)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('tool calls an upstream can multiply', () => {
  const base = { id: 'c1', model: 'm' };
  const chunk = (d: object, finish: string | null = null) => ({ ...base, choices: [{ index: 0, delta: d, finish_reason: finish }] });

  it('parallel calls at any indexes, their fragments interleaved in any order: each call one block, whole, never mixed', () => {
    const call = fc.record({
      input: fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.oneof(fc.string({ maxLength: 20 }), fc.integer()), { maxKeys: 4 }),
      cuts: fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 4 }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 8 }),
        fc.array(call, { minLength: 8, maxLength: 8 }),
        fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
        (indexes, calls, order) => {
          // Each call's deltas in its own order: the first names it, then its arguments in pieces.
          const queues = indexes.map((index, n) => {
            const args = JSON.stringify(calls[n]!.input);
            const at = [...new Set(calls[n]!.cuts.map((c) => c % (args.length + 1)))].sort((a, b) => a - b);
            const pieces = [0, ...at, args.length].slice(1).map((end, i, ends) => args.slice(i === 0 ? 0 : ends[i - 1], end)).filter(Boolean);
            return [{ index, id: `call_${index}`, type: 'function', function: { name: `f${index}`, arguments: '' } }, ...pieces.map((p) => ({ index, function: { arguments: p } }))];
          });
          const chunks: OpenAIChatChunk[] = [];
          let k = 0;
          for (;;) {
            const live = queues.filter((q) => q.length > 0);
            if (live.length === 0) break;
            chunks.push(chunk({ tool_calls: [live[order[k++ % order.length]! % live.length]!.shift()] }) as OpenAIChatChunk);
          }
          chunks.push(chunk({}, 'tool_calls') as OpenAIChatChunk);
          const events = run(chunks);
          checkOrder(events);
          const blocks = accumulate(events).content as Array<{ type: string; id: string; name: string; input: unknown }>;
          expect(blocks.map((b) => b.id).sort()).toEqual(indexes.map((i) => `call_${i}`).sort());
          for (const b of blocks) {
            const n = indexes.indexOf(Number(b.id.slice('call_'.length)));
            expect(b).toEqual({ type: 'tool_use', id: `call_${indexes[n]}`, name: `f${indexes[n]}`, input: calls[n]!.input });
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('calls numbered 0 each (Ollama) or sent without an index, id on every fragment: each call one block, whole, in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.integer(), { maxKeys: 3 }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 7 }),
        (inputs, withIndex, step) => {
          const chunks: OpenAIChatChunk[] = [];
          inputs.forEach((input, n) => {
            const args = JSON.stringify(input);
            for (let at = 0; at === 0 || at < args.length; at += step) {
              const d: Record<string, unknown> = { id: `call_${n}`, function: { ...(at === 0 ? { name: `f${n}` } : {}), arguments: args.slice(at, at + step) } };
              if (withIndex) d.index = 0;
              chunks.push(chunk({ tool_calls: [d] }) as OpenAIChatChunk);
            }
          });
          chunks.push(chunk({}, 'tool_calls') as OpenAIChatChunk);
          const events = run(chunks);
          checkOrder(events);
          expect(accumulate(events).content).toEqual(inputs.map((input, n) => ({ type: 'tool_use', id: `call_${n}`, name: `f${n}`, input })));
        },
      ),
      { numRuns: 200 },
    );
  });

  it(`${MAX_STREAM_TOOL_CALLS} calls are served; one more is a malformed answer naming the limit`, () => {
    const calls = (n: number) => Array.from({ length: n }, (_, i) => ({ index: i, id: `c${i}`, type: 'function', function: { name: 'f', arguments: '{}' } }));
    const served = run([chunk({ tool_calls: calls(MAX_STREAM_TOOL_CALLS) }) as OpenAIChatChunk, chunk({}, 'tool_calls') as OpenAIChatChunk]);
    expect(served.filter((e) => e.type === 'content_block_start')).toHaveLength(MAX_STREAM_TOOL_CALLS);
    const text = `data: ${JSON.stringify(chunk({ tool_calls: calls(100_000) }))}\n\n`;
    const { events, error } = replayFailing(text);
    expect(error.status).toBe(502);
    expect(error.upstream?.kind).toBe('bad_response');
    expect(error.message).toBe(`openai/gpt-4o: the upstream's answer opened more than ${MAX_STREAM_TOOL_CALLS} tool calls`);
    expect(events.map((e) => e.type)).not.toContain('message_stop');
  });

  it('tool arguments that never end are held only up to MAX_HELD_CHARS, then the answer is a malformed one', () => {
    const converter = new OpenAIStreamConverter({ target, toolNames: new ToolNameMap() });
    converter.push(chunk({ tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'f', arguments: '{"k":"' } }] }) as OpenAIChatChunk);
    const piece = 'x'.repeat(1024 * 1024);
    let pushed = 6;
    const more = () => {
      converter.push(chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }) as OpenAIChatChunk);
      pushed += piece.length;
    };
    while (pushed + piece.length <= MAX_HELD_CHARS) more();
    expect(more).toThrow(`openai/gpt-4o: the upstream's answer holds more than ${MAX_HELD_CHARS} characters of tool arguments and text after them`);
  });

  it('text after a tool call counts towards the same bound', () => {
    const converter = new OpenAIStreamConverter({ target, toolNames: new ToolNameMap() });
    converter.push(chunk({ tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } }] }) as OpenAIChatChunk);
    const piece = 'y'.repeat(8 * 1024 * 1024);
    for (let i = 0; i < MAX_HELD_CHARS / piece.length - 1; i++) converter.push(chunk({ content: piece }) as OpenAIChatChunk);
    expect(() => converter.push(chunk({ reasoning_content: piece + 'z'.repeat(3) }) as OpenAIChatChunk)).toThrow(/holds more than 67108864 characters/);
  });
});
