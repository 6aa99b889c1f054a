import type { Response } from 'express';
import type { Socket } from 'node:net';
import type { GatewayError } from '../errors.js';
import type { SseFrame } from '../providers/types.js';
import { redactionFor } from './response-redaction.js';
import { closeIfUnread, whenDrained } from './stalled-reader.js';

const PING = 'event: ping\ndata: {"type":"ping"}\n\n';

/**
 * Writes Anthropic SSE to the client. Sends a `ping` when nothing was written for
 * `pingIntervalMs`, so proxies and clients do not give up on a slow upstream.
 *
 * Frames written before the event loop's next turn (all the events parsed out of one upstream
 * chunk) are joined and leave in one write at `setImmediate`, together with the headers the first
 * time; when the answer also ends before then (a fast upstream's whole answer in one chunk), the
 * headers, the events and the end of the response leave in a single write. A slow upstream's events
 * still go out as they arrive; a fast one's 50 deltas cost one write and one syscall instead of 50
 * or three (the benchmark's profile showed socket writes as the largest single cost of a stream).
 *
 * A client that reads slower than the upstream writes gets backpressure: the stream loop waits on
 * `drained()` before it reads the next batch from the upstream (which pauses the upstream socket),
 * so a stalled reader holds at most what is in flight, not the whole answer. No ping is queued
 * while the client has not taken what was written. A client that takes nothing for
 * `stalledReaderMs` is disconnected, which aborts the upstream.
 */
export class SseWriter {
  private lastWrite = Date.now();
  private readonly timer: NodeJS.Timeout;
  private ended = false;
  /** Frames waiting for the next turn's write. */
  private pending = '';
  private scheduled = false;
  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.ended || this.res.destroyed) return;
    const text = this.pending;
    this.pending = '';
    if (text !== '') this.send(text);
    else if (!this.res.headersSent) this.res.flushHeaders();
    this.headersOut = true;
  };
  /** The headers went out through the response (with the first chunk, or alone): later chunks may take the socket. */
  private headersOut = false;

  constructor(
    private readonly res: Response,
    pingIntervalMs: number,
    private readonly stalledReaderMs: number,
    /** Told when the client is disconnected for not reading. */
    private readonly onStall: () => void = () => undefined,
  ) {
    res.status(200);
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('cache-control', 'no-cache');
    res.setHeader('connection', 'keep-alive');
    res.setHeader('x-accel-buffering', 'no');
    // The headers leave with the first frames, or alone on the next turn when there are none yet.
    this.schedule();
    const tick = Math.max(5, Math.min(pingIntervalMs, 1000));
    this.timer = setInterval(() => {
      // A client that has not taken the last write needs no ping, and a queue of them would grow.
      if (Date.now() - this.lastWrite >= pingIntervalMs && !res.writableNeedDrain && !res.socket?.writableNeedDrain) this.raw(PING);
    }, tick);
    this.timer.unref();
  }

  write(frame: SseFrame): void {
    this.raw(formatFrame(frame));
  }

  /** The events of one batch, in order. */
  writeAll(frames: readonly SseFrame[]): void {
    let text = '';
    for (const frame of frames) text += formatFrame(frame);
    this.raw(text);
  }

  /**
   * Undefined while the client keeps up; otherwise resolves once it has taken what was written (or
   * is gone, disconnected after `stalledReaderMs` without reading). Wait on it before reading more.
   */
  drained(): Promise<void> | undefined {
    return whenDrained(this.res, this.stalledReaderMs, this.onStall);
  }

  /** Ends the stream with an `error` event: the client must not take what it got as complete. */
  error(err: GatewayError): void {
    const type = err.type === 'invalid_request_error' ? 'api_error' : err.type;
    const { redactor, own } = redactionFor(this.res);
    const message = redactor.redact(err.message, own);
    this.raw(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type, message } })}\n\n`);
  }

  /**
   * An SSE comment (`: text`): clients and SDKs skip it. Line breaks in `text` become spaces: a
   * comment is one line.
   */
  comment(text: string): void {
    this.raw(`: ${text.replace(/[\r\n]+/g, ' ')}\n\n`);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.timer);
    const text = this.pending;
    this.pending = '';
    if (this.res.destroyed) return;
    if (text !== '') this.res.end(text);
    else this.res.end();
    closeIfUnread(this.res, this.stalledReaderMs, this.onStall);
  }

  /**
   * One chunk of the response. Once the headers are out and nothing of the response waits in its
   * own buffer, the chunk (framed as HTTP/1.1 chunked encoding, as `res.write` would) goes straight
   * to the socket in one write: `res.write` corks the socket, queues the size line, the data and
   * the line end as three writes and uncorks on the next tick, which for a slow stream's single
   * delta allocated more than the delta itself. Anything else (headers not sent, a pipelined
   * response still waiting for its turn on the socket, no chunked encoding) takes `res.write`.
   */
  private send(text: string): void {
    const res = this.res;
    const socket = res.socket as (Socket & { _httpMessage?: unknown }) | null;
    if (
      this.headersOut &&
      res.chunkedEncoding &&
      socket !== null &&
      socket._httpMessage === res &&
      socket.writable &&
      res.writableLength === socket.writableLength
    ) {
      socket.write(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`);
    } else {
      res.write(text);
    }
  }

  private raw(text: string): void {
    if (this.ended || this.res.destroyed) return;
    this.lastWrite = Date.now();
    this.pending += text;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }
}

/**
 * One SSE frame. Data with line breaks (an upstream that spread an event's JSON over several `data:`
 * lines, which the parser joined with \n) goes out as one `data:` line per line, as the SSE spec
 * requires; a bare line break would end the field and leave the rest unprefixed. The gateway's own
 * frames are JSON.stringify output, which never contains one, so they take the first branch.
 */
export function formatFrame(frame: SseFrame): string {
  const data = frame.data;
  if (data.indexOf('\n') === -1) return `event: ${frame.event}\ndata: ${data}\n\n`;
  return `event: ${frame.event}\ndata: ${data.replace(/\n/g, '\ndata: ')}\n\n`;
}
