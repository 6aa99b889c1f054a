import { parseSse } from '@conduit/testkit';
import { describe, expect, it } from 'vitest';
import { formatFrame } from './sse-writer.js';

describe('formatFrame', () => {
  it('writes one event line and one data line for single-line data', () => {
    expect(formatFrame({ event: 'ping', data: '{"type":"ping"}' })).toBe('event: ping\ndata: {"type":"ping"}\n\n');
  });

  it('prefixes every line of multi-line data with data:, so a reader joins them back', () => {
    const data = '{"type":"message_delta",\n"delta":{"stop_reason":"end_turn"},\n\n"usage":{"output_tokens":3}}';
    const text = formatFrame({ event: 'message_delta', data });
    expect(text).toBe(
      'event: message_delta\ndata: {"type":"message_delta",\ndata: "delta":{"stop_reason":"end_turn"},\ndata: \ndata: "usage":{"output_tokens":3}}\n\n',
    );
    for (const line of text.split('\n').slice(1, -2)) expect(line.startsWith('data: ')).toBe(true);
    expect(parseSse(text)).toEqual([{ event: 'message_delta', data: JSON.parse(data) }]);
  });
});
