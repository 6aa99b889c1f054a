import { describe, expect, it } from 'vitest';
import { FrameQueue } from '../providers/translated/frames.js';
import type { SseFrame } from '../providers/types.js';
import { Observation } from './observation.js';

const start = { type: 'message_start', message: { usage: { input_tokens: 12, output_tokens: 1, cache_read_input_tokens: 5 } } };
const delta = { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 30 } };

describe('Observation.frames', () => {
  it('reads usage from the text of message_start and message_delta (later values win)', () => {
    const obs = new Observation();
    obs.frames([{ event: 'message_start', data: JSON.stringify(start) }]);
    expect([obs.inputTokens, obs.outputTokens, obs.cacheReadTokens]).toEqual([12, 1, 5]);
    obs.frames([
      { event: 'content_block_delta', data: '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}' },
      { event: 'message_delta', data: JSON.stringify(delta) },
    ]);
    expect([obs.inputTokens, obs.outputTokens, obs.cacheReadTokens, obs.promptTokens]).toEqual([12, 30, 5, 17]);
    expect(obs.ttftMs).not.toBeNull();
  });

  it('takes the object a frame carries instead of parsing its text again', () => {
    const queue = new FrameQueue();
    queue.emit(start as never);
    queue.emit(delta as never);
    const frames = queue.take();
    expect(frames.map((f) => f.value)).toEqual([start, delta]);
    const obs = new Observation();
    // text that does not parse: only the carried object can give these numbers
    obs.frames(frames.map((f): SseFrame => ({ ...f, data: '' })));
    expect([obs.inputTokens, obs.outputTokens]).toEqual([12, 30]);
  });

  it('a frame whose text is not JSON gives no usage and no error', () => {
    const obs = new Observation();
    obs.frames([{ event: 'message_start', data: '{' }, { event: 'message_delta', data: 'null' }]);
    expect([obs.inputTokens, obs.outputTokens]).toEqual([null, null]);
  });
});
