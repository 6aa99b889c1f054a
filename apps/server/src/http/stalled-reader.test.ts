import { EventEmitter } from 'node:events';
import type { Response } from 'express';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { closeIfUnread, whenDrained } from './stalled-reader.js';

/** The parts of a response the watcher reads: how much is still buffered, and whether it is gone. */
class FakeResponse extends EventEmitter {
  writableLength = 10_000_000;
  writableNeedDrain = true;
  writableFinished = false;
  destroyed = false;
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
  /** The client takes `n` bytes. */
  take(n: number): void {
    this.writableLength -= n;
  }
}

const STALL = 2_000;
let res: FakeResponse;
let stalls: number;
beforeEach(() => {
  vi.useFakeTimers();
  res = new FakeResponse();
  stalls = 0;
});
afterEach(() => vi.useRealTimers());

describe('closeIfUnread: the end of an answer the client has not taken yet', () => {
  it('keeps a client that takes a little of a long tail every second, however long the tail lasts', () => {
    closeIfUnread(res as unknown as Response, STALL, () => stalls++);
    for (let s = 0; s < 30; s++) {
      vi.advanceTimersByTime(1_000);
      res.take(1_000);
    }
    expect(res.destroyed).toBe(false);
    expect(stalls).toBe(0);
  });

  it('cuts a client once it has taken nothing for the limit, and not before', () => {
    closeIfUnread(res as unknown as Response, STALL, () => stalls++);
    vi.advanceTimersByTime(1_000);
    res.take(1_000); // the last read
    vi.advanceTimersByTime(STALL - 600);
    expect(res.destroyed).toBe(false);
    vi.advanceTimersByTime(STALL);
    expect(res.destroyed).toBe(true);
    expect(stalls).toBe(1);
  });

  it('does not take a held event loop for a stalled client: a late check counts once', () => {
    closeIfUnread(res as unknown as Response, STALL, () => stalls++);
    res.take(1_000);
    vi.advanceTimersByTime(STALL / 4); // a check that sees the client read
    // Then the loop is held for three times the limit (no timer runs, no byte leaves, the clock
    // moves on); when it runs again, the late check comes before the socket's writes.
    vi.setSystemTime(Date.now() + STALL * 3);
    vi.advanceTimersByTime(STALL / 4);
    expect(res.destroyed).toBe(false);
    // The client goes on reading, and is kept; once it stops, it is cut after the limit as always.
    for (let i = 0; i < 8; i++) {
      res.take(100);
      vi.advanceTimersByTime(STALL / 4);
    }
    expect(res.destroyed).toBe(false);
    vi.advanceTimersByTime(STALL + STALL / 4);
    expect(res.destroyed).toBe(true);
    expect(stalls).toBe(1);
  });

  it('stops watching once the answer has left', () => {
    closeIfUnread(res as unknown as Response, STALL, () => stalls++);
    res.take(res.writableLength);
    res.writableFinished = true;
    res.emit('finish');
    vi.advanceTimersByTime(STALL * 10);
    expect(res.destroyed).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('whenDrained: waiting for a client to take what was written', () => {
  it('resolves on drain, and keeps a slow but steady reader however long the drain takes', async () => {
    const drained = whenDrained(res as unknown as Response, STALL, () => stalls++);
    expect(drained).toBeDefined();
    for (let s = 0; s < 10; s++) {
      vi.advanceTimersByTime(1_500);
      res.take(100);
    }
    expect(res.destroyed).toBe(false);
    res.emit('drain');
    await drained;
    expect(stalls).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('disconnects a reader that takes nothing, and resolves so the stream loop ends', async () => {
    const drained = whenDrained(res as unknown as Response, STALL, () => stalls++);
    vi.advanceTimersByTime(STALL * 1.5);
    await drained;
    expect(res.destroyed).toBe(true);
    expect(stalls).toBe(1);
  });

  it('costs nothing while the client keeps up', () => {
    res.writableNeedDrain = false;
    expect(whenDrained(res as unknown as Response, STALL, () => stalls++)).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });
});
