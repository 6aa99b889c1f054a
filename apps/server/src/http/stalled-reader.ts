import type { Response } from 'express';
import { GatewayError } from '../errors.js';

/** What a response records when its client stopped reading for longer than `limits.stalled_reader_ms`. */
export function stalledReaderError(ms: number): GatewayError {
  return new GatewayError(408, `the client did not read the response for ${ms} ms (limits.stalled_reader_ms): connection closed`, {
    type: 'timeout_error',
  });
}

/**
 * Watches a response whose client has not taken everything written yet, and disconnects it once it
 * has taken nothing for `ms`. Progress is what left the process: `writableLength` (the response's
 * and its socket's buffers) getting shorter. A client that reads slowly but steadily is never cut,
 * however long the tail it still has to take; one that reads nothing is cut between `ms` and
 * `1.25 × ms` after its last read.
 *
 * The limit is counted in checks, one every quarter of it, that found no progress: a check that
 * comes late because the event loop was held (a long garbage collection, a starved machine) counts
 * once, not for the time it waited, since the client's bytes could not leave meanwhile either. A
 * held loop alone never gets a reading client cut. Returns the function that stops watching.
 */
function watchForStall(res: Response, ms: number, onStall: () => void): () => void {
  const every = Math.max(10, Math.floor(ms / 4));
  const checksToStall = Math.max(1, Math.ceil(ms / every));
  let left = res.writableLength;
  let idleChecks = 0;
  const timer = setInterval(() => {
    if (res.destroyed || res.writableFinished) return stop();
    const now = res.writableLength;
    idleChecks = now < left ? 0 : idleChecks + 1;
    left = now;
    if (idleChecks < checksToStall) return;
    stop();
    onStall();
    res.destroy();
  }, every);
  timer.unref();
  const stop = (): void => clearInterval(timer);
  return stop;
}

/**
 * Backpressure for a response being written: undefined while the client keeps up (nothing to wait
 * for, nothing allocated); otherwise a promise that resolves once the client has taken what was
 * written ('drain') or the response is gone. A client that takes nothing for `ms` is disconnected
 * (`onStall` is told first): the response's 'close' then aborts the request's upstream call.
 */
export function whenDrained(res: Response, ms: number, onStall: () => void): Promise<void> | undefined {
  if (res.destroyed) return undefined;
  // A streamed answer may write its chunks to the socket itself (SseWriter): then the socket is full.
  const socket = res.socket;
  if (!res.writableNeedDrain && !socket?.writableNeedDrain) return undefined;
  return new Promise<void>((resolve) => {
    const stop = watchForStall(res, ms, onStall);
    const done = (): void => {
      stop();
      res.off('drain', done);
      res.off('close', done);
      socket?.off('drain', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
    socket?.on('drain', done);
  });
}

/**
 * After `res.end()`: when the client has not taken the whole answer yet, it must keep taking it; one
 * that takes nothing for `ms` is disconnected, so a client that never reads cannot hold the answer's
 * buffers and the connection forever. Costs one property read when the answer already left.
 */
export function closeIfUnread(res: Response, ms: number, onStall: () => void): void {
  if (res.destroyed || res.writableFinished || res.writableLength === 0) return;
  const stop = watchForStall(res, ms, onStall);
  res.once('close', stop);
  res.once('finish', stop);
}
