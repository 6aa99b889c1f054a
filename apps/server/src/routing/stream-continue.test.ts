import { describe, expect, it } from 'vitest';
import type { CreateMessageRequest } from '../generated/types.gen.js';
import type { SseFrame } from '../providers/types.js';
import { acceptsPrefill, SentContent, Stitcher, withPrefill } from './stream-continue.js';

const f = (event: string, data: object): SseFrame => ({ event, data: JSON.stringify({ type: event, ...data }) });
const start = (index: number, block: object) => f('content_block_start', { index, content_block: block });
const text = (index: number, t: string) => f('content_block_delta', { index, delta: { type: 'text_delta', text: t } });
const stop = (index: number) => f('content_block_stop', { index });

function observed(frames: SseFrame[]): SentContent {
  const sent = new SentContent();
  for (const frame of frames) sent.observe(frame);
  return sent;
}

const body: CreateMessageRequest = { model: 'a/x', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], fallbacks: ['b/y', { model: 'theirs' } as never] };

describe('SentContent', () => {
  it('collects the text and the open block', () => {
    const sent = observed([f('message_start', { message: {} }), start(0, { type: 'text', text: '' }), text(0, 'Hello '), text(0, 'wor')]);
    expect([sent.text, sent.textOnly, sent.open, sent.nextIndex]).toEqual(['Hello wor', true, { index: 0, type: 'text' }, 1]);
  });

  it('is not text-only once a tool call or thinking block was sent', () => {
    expect(observed([start(0, { type: 'tool_use', id: 't', name: 'n', input: {} })]).textOnly).toBe(false);
    expect(observed([start(0, { type: 'text', text: '' }), f('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{' } })]).textOnly).toBe(false);
  });
});

describe('withPrefill', () => {
  it('appends the sent text (trimmed) as the assistant turn, keeping only forwarded fallbacks', () => {
    const out = withPrefill(body, 'Hello wor  ');
    expect(out.messages).toEqual([{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'Hello wor' }]);
    expect(out.fallbacks).toEqual([{ model: 'theirs' }]);
    expect(body.messages).toHaveLength(1);
  });

  it("extends the client's own prefill", () => {
    const withOwn = { ...body, messages: [...body.messages, { role: 'assistant' as const, content: 'Sure:' }] };
    expect(withPrefill(withOwn, ' here it is').messages.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'Sure: here it is' }] });
  });

  it('only when Anthropic allows a prefill', () => {
    expect(acceptsPrefill({})).toBe(true);
    expect(acceptsPrefill({ thinking: { type: 'enabled', budget_tokens: 2000 } })).toBe(false);
    expect(acceptsPrefill({ thinking: { type: 'disabled' } })).toBe(true);
    expect(acceptsPrefill({ tool_choice: { type: 'any' } })).toBe(false);
    expect(acceptsPrefill({ tool_choice: { type: 'auto' } })).toBe(true);
  });
});

describe('Stitcher', () => {
  it("merges the continuation's first text block into the open one and drops its message_start", () => {
    const sent = observed([start(0, { type: 'text', text: '' }), text(0, 'Hello ')]);
    const s = new Stitcher(sent);
    const out = [f('message_start', { message: {} }), f('ping', {}), start(0, { type: 'text', text: '' }), text(0, ' world'), stop(0), f('message_stop', {})].flatMap((e) => s.map(e));
    expect(out).toEqual([f('ping', {}), text(0, 'world'), stop(0), f('message_stop', {})]);
  });

  it('renumbers later blocks after the ones the client has', () => {
    const sent = observed([start(0, { type: 'text', text: '' }), text(0, 'a'), stop(0), start(1, { type: 'text', text: '' }), text(1, 'b')]);
    const s = new Stitcher(sent);
    const tool = { type: 'tool_use', id: 't', name: 'n', input: {} };
    const out = [start(0, { type: 'text', text: '' }), text(0, 'c'), stop(0), start(1, tool), stop(1)].flatMap((e) => s.map(e));
    expect(out).toEqual([text(1, 'c'), stop(1), start(2, tool), stop(2)]);
  });

  it('closes the open text block when the continuation starts with something else', () => {
    const sent = observed([start(0, { type: 'text', text: '' }), text(0, 'a')]);
    const tool = { type: 'tool_use', id: 't', name: 'n', input: {} };
    const s = new Stitcher(sent);
    const out = [start(0, tool), stop(0)].flatMap((e) => s.map(e));
    expect(out).toEqual([stop(0), start(1, tool), stop(1)]);
  });

  it('starts a new block when the client has none open', () => {
    const sent = observed([start(0, { type: 'text', text: '' }), text(0, 'a'), stop(0)]);
    const s = new Stitcher(sent);
    const out = [start(0, { type: 'text', text: '' }), text(0, 'b'), stop(0)].flatMap((e) => s.map(e));
    expect(out).toEqual([start(1, { type: 'text', text: '' }), text(1, 'b'), stop(1)]);
  });
});
