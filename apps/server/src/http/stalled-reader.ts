import type { Response } from 'express';
import { GatewayError } from '../errors.js';

/** What a response records when its client stopped reading for longer than `limits.stalled_reader_ms`. */
export function stalledReaderError(ms: number): GatewayError {
  return new GatewayError(408, `the client did not read the response for ${ms} ms (limits.stalled_reader_ms): connection closed`, {
    type: 'timeout_error',
  });
}

/**
 * Backpressure for a response being written: undefined while the client keeps up (nothing to wait
 * for, nothing allocated); otherwise a promise that resolves once the client has taken what was
 * written ('drain') or the response is gone. A client that takes nothing for `ms` is disconnected
 * (`onStall` is told first): the response's 'close' then aborts the request's upstream call.
 */
export function whenDrained(res: Response, ms: number, onStall: () => void): Promise<void> | undefined {
  if (!res.writableNeedDrain || res.destroyed) return undefined;
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(() => {
      onStall();
      res.destroy();
    }, ms);
    timer.unref();
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * After `res.end()`: when the client has not taken the whole answer yet, it gets `ms` to do so,
 * then the connection is closed, so a client that never reads cannot hold the answer's buffers and
 * the connection forever. Costs one property read when the answer already left.
 */
export function closeIfUnread(res: Response, ms: number, onStall: () => void): void {
  if (res.destroyed || res.writableFinished || res.writableLength === 0) return;
  const timer = setTimeout(() => {
    if (res.writableFinished || res.destroyed) return;
    onStall();
    res.destroy();
  }, ms);
  timer.unref();
  res.once('close', () => clearTimeout(timer));
}
