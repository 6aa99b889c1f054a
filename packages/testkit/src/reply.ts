import type { ServerResponse } from 'node:http';
import type { FakeReply, ReplyProgress } from './types.js';

/** What sending a reply needs from the server that owns the socket. */
export interface ReplyContext {
  /** Runs `fn` after `ms`; the server cancels pending calls when it closes. */
  later(ms: number | undefined, fn: () => void): void;
  /** Headers every response of this fake carries (e.g. a request id). */
  baseHeaders(): Record<string, string>;
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };

export function sendReply(res: ServerResponse, reply: FakeReply, ctx: ReplyContext, progress?: ReplyProgress): void {
  switch (reply.kind) {
    case 'json':
      ctx.later(reply.delayMs, () => {
        if (res.destroyed) return;
        const body = JSON.stringify(reply.body) ?? 'null';
        res.writeHead(reply.status ?? 200, {
          ...ctx.baseHeaders(),
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          ...reply.headers,
        });
        res.end(body);
      });
      return;
    case 'raw':
      res.writeHead(reply.status, {
        ...ctx.baseHeaders(),
        'content-length': String(Buffer.byteLength(reply.body)),
        ...reply.headers,
      });
      res.end(reply.body);
      return;
    case 'sse':
    case 'stream':
      ctx.later(reply.delayMs, () => sendStream(res, reply, ctx, progress));
      return;
    case 'reset':
      resetSocket(res);
      return;
    case 'hang':
      // Never answer: the socket stays open until the client leaves or the fake closes.
      return;
  }
}

/** Answers with a plain 500 when a scripted responder throws, so the test sees the failure. */
export function sendResponderFailure(res: ServerResponse, err: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const body = `fake upstream responder failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`;
  res.writeHead(500, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

function resetSocket(res: ServerResponse): void {
  const socket = res.socket;
  if (!socket) return;
  // A TCP RST is what a crashed or overloaded upstream looks like; fall back to a plain close.
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

type StreamReply = Extract<FakeReply, { kind: 'sse' | 'stream' }>;

function sendStream(res: ServerResponse, reply: StreamReply, ctx: ReplyContext, progress?: ReplyProgress): void {
  if (res.destroyed) return;
  const framing = reply.kind === 'sse' ? SSE_HEADERS : { 'content-type': reply.contentType };
  res.writeHead(reply.status ?? 200, { ...ctx.baseHeaders(), ...framing, ...reply.headers });
  const frames: Array<string | Uint8Array> = reply.kind === 'sse' ? reply.events : reply.chunks;
  const cut = reply.cutAfter ?? Infinity;
  const stall = reply.stallAfter ?? Infinity;
  const count = Math.min(frames.length, cut, stall);
  const sent = (frame: string | Uint8Array) => {
    if (!progress) return;
    progress.framesSent++;
    progress.bytesSent += Buffer.byteLength(frame);
    progress.lastFrameAt = Date.now();
  };
  const finish = () => {
    if (res.destroyed) return;
    if (cut <= frames.length && cut <= stall) afterFlush(res, () => res.socket?.destroy());
    else if (stall <= frames.length) return; // stalled: keep the socket open, write nothing more
    else res.end();
  };

  if (reply.backpressure) {
    res.flushHeaders();
    let i = 0;
    const pump = () => {
      while (i < count) {
        if (res.destroyed) return;
        const frame = frames[i++]!;
        const more = res.write(frame);
        sent(frame);
        if (!more) {
          if (progress) progress.sawBackpressure = true;
          res.once('drain', pump);
          return;
        }
      }
      finish();
    };
    ctx.later(reply.firstChunkDelayMs, pump);
    return;
  }

  if (!reply.chunkDelayMs && !reply.firstChunkDelayMs) {
    if (count > 0) {
      const text = joinFrames(count === frames.length ? frames : frames.slice(0, count));
      res.write(text);
      if (progress) {
        progress.framesSent += count;
        progress.bytesSent += Buffer.byteLength(text);
        progress.lastFrameAt = Date.now();
      }
    } else res.flushHeaders();
    finish();
    return;
  }

  res.flushHeaders();
  let next = 0;
  const step = () => {
    if (res.destroyed) return;
    if (next >= count) return finish();
    const frame = frames[next++]!;
    res.write(frame);
    sent(frame);
    ctx.later(reply.chunkDelayMs, step);
  };
  ctx.later(reply.firstChunkDelayMs, step);
}

function joinFrames(frames: Array<string | Uint8Array>): string | Buffer {
  if (frames.every((f) => typeof f === 'string')) return frames.join('');
  return Buffer.concat(frames.map((f) => (typeof f === 'string' ? Buffer.from(f) : f)));
}

/** Runs `fn` once everything written so far has left the socket, so a cut never swallows frames already sent. */
function afterFlush(res: ServerResponse, fn: () => void): void {
  const socket = res.socket;
  if (!socket || socket.destroyed) return fn();
  socket.write('', () => fn());
}

/** Sends a default reply rendered ahead of time: a whole SSE body or a JSON document, status 200. */
export function sendPrerendered(res: ServerResponse, ctx: ReplyContext, stream: boolean, text: string): void {
  const headers = ctx.baseHeaders();
  if (stream) {
    headers['content-type'] = 'text/event-stream; charset=utf-8';
    headers['cache-control'] = 'no-cache';
  } else {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(text));
  }
  res.writeHead(200, headers);
  res.end(text);
}

