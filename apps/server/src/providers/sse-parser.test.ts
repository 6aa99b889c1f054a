import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SseParser } from './sse-parser.js';
import { AnswerTooLarge, MAX_UPSTREAM_ANSWER } from './transport.js';

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

  it('mixes ASCII and non-ASCII chunks, and an ASCII chunk after a split character, without losing a byte', () => {
    const text = 'data: {"t":"plain"}\n\ndata: {"t":"naïve 😀 中文"}\n\ndata: {"t":"ascii again"}\n\n';
    const bytes = Buffer.from(text);
    for (let step = 1; step <= 13; step++) {
      const p = new SseParser();
      const got = [];
      for (let i = 0; i < bytes.length; i += step) got.push(...p.push(new Uint8Array(bytes.subarray(i, i + step))));
      got.push(...p.flush());
      expect(got.map((e) => JSON.parse(e.data).t), `step ${step}`).toEqual(['plain', 'naïve 😀 中文', 'ascii again']);
    }
  });

  it('an invalid byte becomes U+FFFD where it was, even when ASCII follows', () => {
    const p = new SseParser();
    expect(p.push(Buffer.from([0x64, 0x61, 0x74, 0x61, 0x3a, 0x20, 0x61, 0xc3]))).toEqual([]);
    expect(p.push(Buffer.from('b\n\n'))).toEqual([{ event: 'message', data: 'a\ufffdb' }]);
  });

  it('a CR LF split across two reads is one line end, not two', () => {
    const p = new SseParser();
    expect(p.push('data: a\r')).toEqual([]);
    expect(p.push('\ndata: b\r\n\r')).toEqual([{ event: 'message', data: 'a\nb' }]);
    expect(p.push('\ndata: c\r\n\r\n')).toEqual([{ event: 'message', data: 'c' }]);
  });

  it('a lone CR at the end of a read still ends the line', () => {
    const p = new SseParser();
    expect(p.push('data: a\r')).toEqual([]);
    expect(p.push('\rdata: b\r\r')).toEqual([{ event: 'message', data: 'a' }, { event: 'message', data: 'b' }]);
  });

  it('a CR at the end of a read survives a read that decodes to nothing (half a character)', () => {
    const p = new SseParser();
    const bytes = Buffer.from('data: é\r\n\r\n');
    const cr = bytes.indexOf(0x0d);
    expect(p.push(bytes.subarray(0, cr + 1))).toEqual([]);
    expect(p.push(Buffer.alloc(0))).toEqual([]);
    expect(p.push(bytes.subarray(cr + 1))).toEqual([{ event: 'message', data: 'é' }]);
  });

  it('an event whose data spans several data: lines (named or not) is joined with \\n', () => {
    const p = new SseParser();
    expect(p.push('event: message_start\ndata: {"type":\ndata: "message_start"}\n\ndata: 1\ndata:2\n\n')).toEqual([
      { event: 'message_start', data: '{"type":\n"message_start"}' },
      { event: 'message', data: '1\n2' },
    ]);
  });

  it('every way of cutting a CR LF stream into reads gives the same events', () => {
    const text = 'event: a\r\ndata: x\r\ndata: y\r\n\r\n: comment\r\n\r\ndata: z\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SseParser();
      const got = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut)), ...p.flush()];
      expect(got, `cut at ${cut}`).toEqual([
        { event: 'a', data: 'x\ny' },
        { event: 'message', data: 'z' },
      ]);
    }
  });

  it('reads cut into any number of pieces give the events of the whole text', () => {
    const line = fc.constantFrom('event: a', 'data: x', 'data: {"k":"é"}', 'data:', ': c', 'data: y z', '');
    const end = fc.constantFrom('\n', '\r\n', '\r');
    const stream = fc.array(fc.tuple(line, end), { maxLength: 24 }).map((ls) => ls.map(([l, e]) => l + e).join(''));
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 12 }), (text, cuts) => {
        const whole = new SseParser();
        const expected = [...whole.push(text), ...whole.flush()];
        const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const p = new SseParser();
        const got: unknown[] = [];
        let from = 0;
        for (const cut of [...at, text.length]) {
          got.push(...p.push(text.slice(from, cut)));
          from = cut;
        }
        got.push(...p.flush());
        expect(got).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('holds an unfinished event only up to its limit (64 MB by default), then throws', () => {
    expect(MAX_UPSTREAM_ANSWER).toBe(64 * 1024 * 1024);
    const p = new SseParser(100);
    expect(p.push('data: ' + 'x'.repeat(50))).toEqual([]);
    expect(p.push('x'.repeat(44))).toEqual([]); // 100 characters held: still allowed
    expect(() => p.push('x')).toThrow(AnswerTooLarge);
    expect(() => p.push('x')).toThrow(/one event of the upstream's stream is larger than 100 characters/);
    // events that end keep nothing: many of them pass however long the stream
    const q = new SseParser(100);
    for (let i = 0; i < 1000; i++) expect(q.push(`data: ${'y'.repeat(80)}\n\n`)).toHaveLength(1);
    // one read that leaves more than the limit unfinished throws as well
    const r = new SseParser(100);
    expect(() => r.push('data: ' + 'z'.repeat(200))).toThrow(AnswerTooLarge);
  });

  it('flushes a final event that lacks the blank line', () => {
    const p = new SseParser();
    p.push('data: [DONE]');
    expect(p.flush()).toEqual([{ event: 'message', data: '[DONE]' }]);
  });
});

describe('an event dribbled a byte at a time', () => {
  it('is read whole, and held as a few joined pieces rather than a string per byte', () => {
    const data = JSON.stringify({ type: 'content_block_delta', delta: { text: 'é'.repeat(3) + 'x'.repeat(60_000) } });
    const wire = Buffer.from(`event: content_block_delta\ndata: ${data}\n\nevent: ping\ndata: {}\n\n`);
    const parser = new SseParser();
    const events = [];
    let mostPieces = 0;
    for (let i = 0; i < wire.length; i++) {
      events.push(...parser.push(wire.subarray(i, i + 1)));
      const held = parser as unknown as { more: string[]; small: string[] };
      mostPieces = Math.max(mostPieces, held.more.length + held.small.length);
    }
    expect(events).toEqual([
      { event: 'content_block_delta', data },
      { event: 'ping', data: '{}' },
    ]);
    // 60 KB a byte a read: pieces of 256 bytes, not 60,000 strings.
    expect(mostPieces).toBeLessThanOrEqual(Math.ceil(wire.length / 256) + 256);
    expect(mostPieces).toBeGreaterThan(1);
  });

  it('counts towards the event limit as it comes', () => {
    const parser = new SseParser(1_000);
    parser.push('data: ');
    expect(() => {
      for (let i = 0; i < 2_000; i++) parser.push('x');
    }).toThrow('one event of the upstream\'s stream is larger than 1000 characters');
  });
});
