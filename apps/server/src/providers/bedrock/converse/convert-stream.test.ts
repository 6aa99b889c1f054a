import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../errors.js';
import type { MessageStreamEvent } from '../../../generated/types.gen.js';
import { ToolNameMap } from '../../openai/tool-names.js';
import { ConverseStreamConverter, type StreamContext } from './convert-stream.js';

const target = { provider: 'bedrock', model: 'amazon.nova-pro-v1:0' };

/** A fixture: one decoded ConverseStream event per line, `<:event-type> <payload JSON>`. */
function fixture(name: string): Array<[string, string]> {
  return readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)]);
}

function replay(events: Array<[string, string]>, ctx: Partial<StreamContext> = {}): MessageStreamEvent[] {
  const converter = new ConverseStreamConverter({ target, toolNames: new ToolNameMap(), ...ctx });
  const out: MessageStreamEvent[] = [];
  const collect = (frames: Array<{ event: string; data: string }>) => {
    for (const f of frames) {
      const ev = JSON.parse(f.data) as MessageStreamEvent;
      expect(f.event).toBe(ev.type);
      out.push(ev);
    }
  };
  for (const [type, payload] of events) collect(converter.pushEvent(type, payload));
  collect(converter.end());
  return out;
}

/** The message a client assembles from the events (what the SDK's finalMessage() does). */
function assemble(events: MessageStreamEvent[]): any {
  let message: any;
  for (const ev of events) {
    if (ev.type === 'message_start') message = { ...ev.message, content: [] };
    else if (ev.type === 'content_block_start') message.content[ev.index] = { ...ev.content_block };
    else if (ev.type === 'content_block_delta') {
      const block = message.content[ev.index];
      const d: any = ev.delta;
      if (d.type === 'text_delta') block.text += d.text;
      else if (d.type === 'thinking_delta') block.thinking += d.thinking;
      else if (d.type === 'signature_delta') block.signature = d.signature;
      else if (d.type === 'input_json_delta') block.partial = (block.partial ?? '') + d.partial_json;
    } else if (ev.type === 'content_block_stop') {
      const block = message.content[ev.index];
      if (block.type === 'tool_use') {
        block.input = JSON.parse(block.partial || '{}');
        delete block.partial;
      }
    } else if (ev.type === 'message_delta') {
      Object.assign(message, ev.delta);
      message.usage = { ...message.usage, ...ev.usage };
    }
  }
  return message;
}

function checkOrder(events: MessageStreamEvent[]): void {
  expect(events[0]?.type).toBe('message_start');
  expect(events.slice(-2).map((e) => e.type)).toEqual(['message_delta', 'message_stop']);
  let open: number | undefined;
  let next = 0;
  for (const ev of events.slice(1, -2)) {
    if (ev.type === 'content_block_start') {
      expect(open).toBeUndefined();
      expect(ev.index).toBe(next++);
      open = ev.index;
    } else if (ev.type === 'content_block_delta') expect(ev.index).toBe(open);
    else if (ev.type === 'content_block_stop') {
      expect(ev.index).toBe(open);
      open = undefined;
    }
  }
  expect(open).toBeUndefined();
}

describe('ConverseStream → Anthropic events', () => {
  it('text (Nova): one text block, usage in message_delta, the request id as message id', () => {
    const events = replay(fixture('nova-text.events.txt'), { requestId: 'b2c6e1f4-1111-2222-3333-444455556666' });
    checkOrder(events);
    expect(assemble(events)).toEqual({
      id: 'msg_bdrk_b2c6e1f4-1111-2222-3333-444455556666',
      type: 'message',
      role: 'assistant',
      model: 'amazon.nova-pro-v1:0',
      content: [{ type: 'text', text: 'Bonjour — here is a haiku 🌸' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 17, output_tokens: 9, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
    expect(events.filter((e) => e.type === 'content_block_delta')).toHaveLength(3);
  });

  it('text then two tool calls (Llama): separate tool_use blocks, input streamed as JSON text, stop tool_use', () => {
    const events = replay(fixture('llama-tool-use.events.txt'));
    checkOrder(events);
    const message = assemble(events);
    expect(message.content).toEqual([
      { type: 'text', text: 'Let me check the weather.' },
      { type: 'tool_use', id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 'tooluse_9tqQb1ZxS2mS3yb8XGzv4A', name: 'get_time', input: {} },
    ]);
    expect(message.stop_reason).toBe('tool_use');
    expect(events.find((e) => e.type === 'content_block_start' && e.index === 1)).toEqual({
      type: 'content_block_start',
      index: 1,
      content_block: { type: 'tool_use', id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', name: 'get_weather', input: {} },
    });
  });

  it('shortened tool names come back as the client wrote them', () => {
    const names = new ToolNameMap();
    const long = 'a_tool_with_a_name_that_is_far_longer_than_the_sixty_four_characters_bedrock_allows';
    const short = names.toUpstream(long);
    const events = replay(
      [
        ['messageStart', '{"role":"assistant"}'],
        ['contentBlockStart', JSON.stringify({ contentBlockIndex: 0, start: { toolUse: { toolUseId: 't1', name: short } } })],
        ['contentBlockStop', '{"contentBlockIndex":0}'],
        ['messageStop', '{"stopReason":"tool_use"}'],
      ],
      { toolNames: names },
    );
    expect(assemble(events).content).toEqual([{ type: 'tool_use', id: 't1', name: long, input: {} }]);
  });

  it('reasoning without a signature (DeepSeek): a thinking block with signature "", cache reads counted', () => {
    const events = replay(fixture('deepseek-reasoning.events.txt'));
    checkOrder(events);
    const message = assemble(events);
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'The user wants a short answer.', signature: '' },
      { type: 'text', text: '42.' },
    ]);
    expect(message.usage).toEqual({ input_tokens: 22, output_tokens: 19, cache_read_input_tokens: 128, cache_creation_input_tokens: 0 });
  });

  it('signed and redacted reasoning; the stop sequence the model reports', () => {
    const events = replay(fixture('claude-signed-reasoning.events.txt'), { stopSequences: ['END', 'STOP'] });
    checkOrder(events);
    const message = assemble(events);
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'Compare the two numbers.', signature: 'EqoBCkgIARABGAIiQHs5Yw3bFakeSignatureBytes' },
      { type: 'redacted_thinking', data: 'RXFvQkNrZ0lBUkFCR0FJaVFHRmFrZVJlZGFjdGVk' },
      { type: 'text', text: '9.11 is smaller than 9.9' },
    ]);
    expect([message.stop_reason, message.stop_sequence]).toEqual(['stop_sequence', 'END']);
  });

  it('a stream cut before messageStop throws: never a message_stop', () => {
    const converter = new ConverseStreamConverter({ target, toolNames: new ToolNameMap() });
    const seen: string[] = [];
    for (const [type, payload] of fixture('mistral-cut.events.txt')) for (const f of converter.pushEvent(type, payload)) seen.push(f.event);
    expect(() => converter.end()).toThrowError(GatewayError);
    expect(() => converter.end()).toThrowError(/ended before messageStop/);
    expect(seen).not.toContain('message_stop');
    expect(seen).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta']);
  });

  it('messageStop without metadata: finished at the end of the body, usage zeros', () => {
    const events = replay([
      ['messageStart', '{"role":"assistant"}'],
      ['contentBlockDelta', '{"contentBlockIndex":0,"delta":{"text":"hi"}}'],
      ['messageStop', '{"stopReason":"max_tokens"}'],
    ]);
    expect(assemble(events)).toMatchObject({ stop_reason: 'max_tokens', usage: { input_tokens: 0, output_tokens: 0 } });
  });

  it('malformed events are failures, not silence', () => {
    const converter = new ConverseStreamConverter({ target, toolNames: new ToolNameMap() });
    expect(() => converter.pushEvent('contentBlockDelta', '{not json')).toThrowError(/not JSON/);
    const other = new ConverseStreamConverter({ target, toolNames: new ToolNameMap() });
    expect(() => other.pushEvent('contentBlockDelta', '{"contentBlockIndex":3,"delta":{"toolUse":{"input":"{}"}}}')).toThrowError(/tool input outside a tool call/);
  });
});
