import { EventEmitter } from 'node:events';
import type { Response } from 'express';
import { parseSse } from '@conduit/testkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SseWriter, formatFrame } from './sse-writer.js';

/** The parts of an express Response the writer uses, with a socket buffer the test fills and drains. */
class FakeResponse extends EventEmitter {
  writes: string[] = [];
  writableNeedDrain = false;
  writableFinished = false;
  writableLength = 0;
  destroyed = false;
  headersSent = false;
  status(): this {
    return this;
  }
  setHeader(): void {}
  flushHeaders(): void {
    this.headersSent = true;
  }
  write(text: string): boolean {
    this.headersSent = true;
    this.writes.push(text);
    return !this.writableNeedDrain;
  }
  end(text?: string): void {
    if (text) this.writes.push(text);
    if (this.writableLength === 0) this.writableFinished = true;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
  /** The client took everything. */
  drain(): void {
    this.writableNeedDrain = false;
    this.emit('drain');
  }
}

/** Lets the writer's deferred write run (it waits for setImmediate, left real below). */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const PING = 'event: ping\ndata: {"type":"ping"}\n\n';
const pings = (r: FakeResponse) => r.writes.join('').split(PING).length - 1;

let res: FakeResponse;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  res = new FakeResponse();
});
afterEach(() => vi.useRealTimers());

describe('SseWriter and a slow client', () => {
  it('sends no ping while the client has not taken the last write, and pings again once it has', async () => {
    const writer = new SseWriter(res as unknown as Response, 100, 10_000);
    writer.write({ event: 'message_start', data: '{"type":"message_start"}' });
    await tick();
    res.writableNeedDrain = true;
    vi.advanceTimersByTime(1_000);
    await tick();
    expect(pings(res)).toBe(0);
    res.drain();
    vi.advanceTimersByTime(100);
    await tick();
    expect(pings(res)).toBe(1);
    writer.end();
  });

  it('drained() is undefined while the client keeps up, and waits for it when it does not', async () => {
    const writer = new SseWriter(res as unknown as Response, 15_000, 10_000);
    expect(writer.drained()).toBeUndefined();
    res.writableNeedDrain = true;
    let done = false;
    void writer.drained()!.then(() => (done = true));
    vi.advanceTimersByTime(5_000);
    await tick();
    expect(done).toBe(false);
    res.drain();
    await Promise.resolve();
    expect(done).toBe(true);
    expect(res.destroyed).toBe(false);
    writer.end();
  });

  it('disconnects a client that takes nothing for the stall limit, saying so first', async () => {
    const onStall = vi.fn(() => expect(res.destroyed).toBe(false));
    const writer = new SseWriter(res as unknown as Response, 15_000, 10_000, onStall);
    res.writableNeedDrain = true;
    const waiting = writer.drained()!;
    vi.advanceTimersByTime(9_999);
    expect(res.destroyed).toBe(false);
    vi.advanceTimersByTime(1);
    await waiting;
    expect(onStall).toHaveBeenCalledOnce();
    expect(res.destroyed).toBe(true);
    writer.end();
  });

  it('after the last write, a client that does not take it is disconnected after the stall limit', () => {
    const onStall = vi.fn();
    const writer = new SseWriter(res as unknown as Response, 15_000, 10_000, onStall);
    res.writableLength = 4096; // still in the socket's buffer once end() returns
    writer.end();
    vi.advanceTimersByTime(9_999);
    expect(res.destroyed).toBe(false);
    vi.advanceTimersByTime(1);
    expect(onStall).toHaveBeenCalledOnce();
    expect(res.destroyed).toBe(true);
  });
});

describe('SseWriter and a fast upstream', () => {
  it('sends a whole answer that ends before the next turn as one write: headers, events and end together', async () => {
    const writer = new SseWriter(res as unknown as Response, 15_000, 10_000);
    writer.writeAll([
      { event: 'message_start', data: '{"type":"message_start"}' },
      { event: 'content_block_delta', data: '{"type":"content_block_delta"}' },
    ]);
    // The stream loop reaches the end through promise reactions, not within one call.
    for (let i = 0; i < 5; i++) await Promise.resolve();
    await new Promise<void>((resolve) => process.nextTick(resolve));
    writer.writeAll([{ event: 'message_stop', data: '{"type":"message_stop"}' }]);
    writer.end();
    expect(res.headersSent).toBe(false);
    expect(res.writes).toEqual([
      'event: message_start\ndata: {"type":"message_start"}\n\nevent: content_block_delta\ndata: {"type":"content_block_delta"}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n',
    ]);
    await tick();
    expect(res.writes).toHaveLength(1);
  });

  it('sends what it has on the next turn when the answer goes on', async () => {
    const writer = new SseWriter(res as unknown as Response, 15_000, 10_000);
    writer.write({ event: 'message_start', data: '{"type":"message_start"}' });
    await tick();
    expect(res.writes).toEqual(['event: message_start\ndata: {"type":"message_start"}\n\n']);
    writer.end();
  });
});

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
