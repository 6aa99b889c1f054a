import { describe, expect, it } from 'vitest';
import { SseParser } from './sse-parser.js';

describe('SseParser', () => {
  it('parses events split across chunks', () => {
    const p = new SseParser();
    expect(p.push('event: message_start\nda')).toEqual([]);
    expect(p.push('ta: {"a":1}\n\nevent: ping\ndata: {}\n')).toEqual([{ event: 'message_start', data: '{"a":1}' }]);
    expect(p.push('\n')).toEqual([{ event: 'ping', data: '{}' }]);
  });

  it('handles CRLF, comments, multi-line data and events without a name', () => {
    const p = new SseParser();
    expect(p.push(': keep-alive\r\n\r\ndata: a\r\ndata: b\r\n\r\n')).toEqual([{ event: 'message', data: 'a\nb' }]);
  });

  it('decodes UTF-8 split inside a character', () => {
    const p = new SseParser();
    const bytes = Buffer.from('data: "é"\n\n');
    const cut = bytes.indexOf(0xc3) + 1;
    expect(p.push(bytes.subarray(0, cut))).toEqual([]);
    expect(p.push(bytes.subarray(cut))).toEqual([{ event: 'message', data: '"é"' }]);
  });

  it('flushes a final event that lacks the blank line', () => {
    const p = new SseParser();
    p.push('data: [DONE]');
    expect(p.flush()).toEqual([{ event: 'message', data: '[DONE]' }]);
  });
});
