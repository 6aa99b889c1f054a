import { describe, expect, it } from 'vitest';
import type { SseFrame } from '../providers/types.js';
import { SentAnswer } from './sent-answer.js';
import { Stitcher, UsageSum } from './stitcher.js';

const f = (event: string, data: object): SseFrame => ({ event, data: JSON.stringify({ type: event, ...data }) });
const start = (index: number, block: object) => f('content_block_start', { index, content_block: block });
const text = (index: number, t: string) => f('content_block_delta', { index, delta: { type: 'text_delta', text: t } });
const stop = (index: number) => f('content_block_stop', { index });
const messageStart = (input: number, output = 1) => f('message_start', { message: { usage: { input_tokens: input, output_tokens: output } } });
const delta = (output: number) => f('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: output } });

function setUp(sentFrames: SseFrame[], trimmed = '') {
  const sent = new SentAnswer(10_000);
  for (const frame of sentFrames) sent.observe(frame);
  const usage = new UsageSum();
  usage.note(messageStart(20));
  usage.cut(sent.takeAttemptChars());
  return { sent, usage, stitcher: new Stitcher(sent, usage, trimmed) };
}

function mapAll(stitcher: Stitcher, frames: SseFrame[]): SseFrame[] {
  const out: SseFrame[] = [];
  for (const frame of frames) stitcher.map(frame, out);
  return out;
}

const parsed = (frames: SseFrame[]) => frames.map((x) => ({ event: x.event, ...JSON.parse(x.data) }));

describe('Stitcher', () => {
  it("merges the continuation's first text block into the open one, drops its message_start, drops the repeated space", () => {
    const { stitcher } = setUp([start(0, { type: 'text', text: '' }), text(0, 'Hello ')], ' ');
    const out = mapAll(stitcher, [messageStart(25), f('ping', {}), start(0, { type: 'text', text: '' }), text(0, ' world'), stop(0), delta(3), f('message_stop', {})]);
    expect(out.map((x) => x.event)).toEqual(['ping', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(JSON.parse(out[1]!.data).delta.text).toBe('world');
  });

  it('passes the events of a block whose index is unchanged through untouched', () => {
    const { stitcher } = setUp([start(0, { type: 'text', text: '' }), text(0, 'a')]);
    const d = text(0, 'b');
    const out = mapAll(stitcher, [start(0, { type: 'text', text: '' }), d]);
    expect(out[0]).toBe(d);
  });

  it('whitespace the continuation does not repeat is not taken from its text', () => {
    const { stitcher } = setUp([start(0, { type: 'text', text: '' }), text(0, 'one\n')], '\n');
    const out = mapAll(stitcher, [start(0, { type: 'text', text: '' }), text(0, '\n'), text(0, '\ntwo')]);
    expect(out.map((x) => JSON.parse(x.data).delta.text)).toEqual(['\ntwo']);
  });

  it('renumbers later blocks after the ones the client has, closing the open one first', () => {
    const { stitcher } = setUp([start(0, { type: 'text', text: '' }), text(0, 'a'), stop(0), start(1, { type: 'text', text: '' }), text(1, 'b')]);
    const tool = { type: 'tool_use', id: 't', name: 'n', input: {} };
    const out = mapAll(stitcher, [start(0, { type: 'text', text: '' }), text(0, 'c'), stop(0), start(1, tool), stop(1)]);
    expect(parsed(out)).toEqual(parsed([text(1, 'c'), stop(1), start(2, tool), stop(2)]));
  });

  it('closes the open text block when the continuation starts with something else', () => {
    const { stitcher } = setUp([start(0, { type: 'text', text: '' }), text(0, 'a')]);
    const tool = { type: 'tool_use', id: 't', name: 'n', input: {} };
    expect(parsed(mapAll(stitcher, [start(0, tool), stop(0)]))).toEqual(parsed([stop(0), start(1, tool), stop(1)]));
  });

  it('starts a new block when the client has none open', () => {
    const { stitcher } = setUp([start(0, { type: 'text', text: '' }), text(0, 'a'), stop(0)]);
    expect(parsed(mapAll(stitcher, [start(0, { type: 'text', text: '' }), text(0, 'b'), stop(0)]))).toEqual(parsed([start(1, { type: 'text', text: '' }), text(1, 'b'), stop(1)]));
  });

  it("leaves out the continuation's thinking blocks", () => {
    const { stitcher } = setUp([start(0, { type: 'text', text: '' }), text(0, 'a')]);
    const thinking = [start(0, { type: 'thinking', thinking: '' }), f('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'hm' } }), stop(0)];
    const out = mapAll(stitcher, [...thinking, start(1, { type: 'text', text: '' }), text(1, 'b'), stop(1)]);
    expect(parsed(out)).toEqual(parsed([text(0, 'b'), stop(0)]));
  });

  it('message_delta carries the usage of every attempt: prompts read, output written (the cut one estimated)', () => {
    // The cut attempt sent 40 characters (10 tokens at four a token) and reported only 1.
    const { stitcher } = setUp([start(0, { type: 'text', text: '' }), text(0, 'x'.repeat(40))]);
    const out = mapAll(stitcher, [messageStart(30), delta(7)]);
    expect(JSON.parse(out.find((x) => x.event === 'message_delta')!.data).usage).toEqual({ input_tokens: 50, output_tokens: 17, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
  });
});

describe('Stitcher at the end of an answer', () => {
  it('a continuation with nothing more to write still closes the block the client has open', () => {
    const { stitcher } = setUp([start(0, { type: 'text', text: '' }), text(0, 'all of it')]);
    const out = mapAll(stitcher, [messageStart(30), delta(0), f('message_stop', {})]);
    expect(out.map((x) => x.event)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(JSON.parse(out[0]!.data).index).toBe(0);
  });

  it('UsageSum knows when the final message_delta reached the client', () => {
    const usage = new UsageSum();
    usage.note(messageStart(10));
    expect(usage.delivered).toBe(false);
    usage.note(delta(5));
    expect(usage.delivered).toBe(true);
  });
});
