import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { SseFrame } from '../providers/types.js';
import { compactTextPiece, SentAnswer } from './sent-answer.js';

const f = (event: string, data: object): SseFrame => ({ event, data: JSON.stringify({ type: event, ...data }) });
const start = (index: number, block: object) => f('content_block_start', { index, content_block: block });
const text = (index: number, t: string) => f('content_block_delta', { index, delta: { type: 'text_delta', text: t } });
const stop = (index: number) => f('content_block_stop', { index });

function observed(frames: SseFrame[], maxChars = 1000): SentAnswer {
  const sent = new SentAnswer(maxChars);
  for (const frame of frames) sent.observe(frame);
  return sent;
}

describe('compactTextPiece', () => {
  it('slices the escaped text out of the compact form', () => {
    expect(compactTextPiece(text(3, 'a "quoted" \\ line\n').data)).toBe('a \\"quoted\\" \\\\ line\\n');
    expect(compactTextPiece(text(12, '').data)).toBe('');
  });

  it('leaves every other form to the parser', () => {
    expect(compactTextPiece('{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a","extra":"b"}}')).toBeUndefined();
    expect(compactTextPiece('{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "a"}}')).toBeUndefined();
    expect(compactTextPiece(f('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{' } }).data)).toBeUndefined();
  });
});

describe('SentAnswer', () => {
  it('collects the text (whatever its form) and the open block', () => {
    const spaced = { event: 'content_block_delta', data: '{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "wor"}}' };
    const sent = observed([f('message_start', { message: {} }), start(0, { type: 'text', text: '' }), text(0, 'Hello "'), spaced, text(0, '\u00e9')]);
    expect([sent.text(), sent.continuable, sent.textOpen, sent.openIndex, sent.nextIndex]).toEqual(['Hello "wor\u00e9', true, true, 0, 1]);
  });

  it('joins many pieces into the same text', () => {
    const pieces = Array.from({ length: 1000 }, (_, i) => `${i} `);
    const sent = observed([start(0, { type: 'text', text: '' }), ...pieces.map((p) => text(0, p))], 1_000_000);
    expect(sent.text()).toBe(pieces.join(''));
  });

  it('keeps the text, not the upstream chunks it was sliced from', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // A slow stream: each delta arrives in a chunk of its own, read as one string and sliced into events.
    const CHUNK = 4096;
    const delta = (i: number): SseFrame => {
      const event = text(0, `${i} and so the answer goes on. `);
      const chunk = `${'x'.repeat(CHUNK - event.data.length)}${event.data}`;
      return { event: 'content_block_delta', data: chunk.slice(CHUNK - event.data.length) };
    };
    gc();
    const before = process.memoryUsage().heapUsed;
    const answers = Array.from({ length: 200 }, () => observed([start(0, { type: 'text', text: '' })], 1_000_000));
    for (let i = 0; i < 100; i++) for (const answer of answers) answer.observe(delta(i));
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // 20,000 chunks of 4 KB: 80 MB if the pieces held them; the text itself is under 1 MB.
    expect(grown).toBeLessThan(20 * 1048576);
    expect(answers[7]!.text()).toBe(Array.from({ length: 100 }, (_, i) => `${i} and so the answer goes on. `).join(''));
  });

  it('cannot be continued inside or after a tool call, nor inside a thinking block; after one it can', () => {
    const tool = observed([start(0, { type: 'tool_use', id: 't', name: 'n', input: {} })]);
    expect([tool.continuable, tool.reason]).toEqual([false, 'it broke inside a tool call']);
    const toolDone = observed([start(0, { type: 'tool_use', id: 't', name: 'n', input: {} }), stop(0), start(1, { type: 'text', text: '' })]);
    expect(toolDone.continuable).toBe(false);
    expect(observed([start(0, { type: 'thinking', thinking: '' })]).continuable).toBe(false);
    const afterThinking = observed([start(0, { type: 'thinking', thinking: '' }), stop(0), start(1, { type: 'text', text: '' }), text(1, 'x')]);
    expect([afterThinking.continuable, afterThinking.text(), afterThinking.nextIndex]).toEqual([true, 'x', 2]);
  });

  it('stops keeping text past its limit, and the answer is then no longer continued', () => {
    const sent = observed([start(0, { type: 'text', text: '' }), text(0, '12345'), text(0, '67890'), text(0, 'x')], 10);
    expect(sent.continuable).toBe(false);
    expect(sent.reason).toMatch(/longer than 10 characters \(limits.max_continuation_chars\)/);
  });

  it("counts each attempt's characters on its own", () => {
    const sent = observed([start(0, { type: 'text', text: '' }), text(0, 'abcd'), text(0, 'efgh')]);
    expect(sent.takeAttemptChars()).toBe(8);
    sent.observe(text(0, 'ij'));
    expect(sent.takeAttemptChars()).toBe(2);
  });
});
