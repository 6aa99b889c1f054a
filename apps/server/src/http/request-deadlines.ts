import type { ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Response } from 'express';
import { GatewayError } from '../errors.js';
import type { ErrorResponse } from '../generated/types.gen.js';
import { sendError } from './error-envelope.js';
import { newRequestId } from './request-id.js';

export interface RequestDeadlines {
  /** First byte of a request → its headers complete (config `limits.headers_timeout_ms`). */
  headersTimeoutMs: number;
  /** First byte of a request → its whole body received (config `limits.request_timeout_ms`). */
  requestTimeoutMs: number;
}

/**
 * node:http's options for the deadlines. node checks them on a timer of its own
 * (`connectionsCheckingInterval`, 30 s by default): every second here, or a quarter of the shorter
 * deadline when that is less, so a deadline is kept to within that.
 */
export function deadlineServerOptions(d: RequestDeadlines): Pick<ServerOptions, 'headersTimeout' | 'requestTimeout' | 'connectionsCheckingInterval'> {
  return {
    headersTimeout: d.headersTimeoutMs,
    requestTimeout: d.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, Math.max(25, Math.floor(Math.min(d.headersTimeoutMs, d.requestTimeoutMs) / 4))),
  };
}

/** Longest wait for a 408 to leave before the connection is dropped anyway (a client that does not read). */
const CLOSE_GRACE_MS = 1_000;

/**
 * A `clientError` listener's half for deadlines: node reports a request past `headersTimeout` or
 * `requestTimeout` as ERR_HTTP_REQUEST_TIMEOUT and, left to itself, answers a bare 408. This
 * answers it in Anthropic's error envelope (`timeout_error`, the SDKs retry a 408) and closes the
 * connection. Returns false for any other client error.
 *
 * When the headers had arrived the request has a response object: the 408 goes through it (so it is
 * logged and counted like any answer). Otherwise no request exists yet and the answer is written to
 * the socket directly.
 */
export function answerRequestTimeout(err: Error & { code?: string }, socket: Socket, d: RequestDeadlines): boolean {
  if (err.code !== 'ERR_HTTP_REQUEST_TIMEOUT') return false;
  const res = (socket as Socket & { _httpMessage?: Response | null })._httpMessage;
  if (res) {
    if (res.headersSent || !socket.writable) {
      socket.destroy();
      return true;
    }
    sendError(res, timeoutError('the request body', d.requestTimeoutMs, 'request_timeout_ms'));
    closeAfterFlush(socket);
    return true;
  }
  if (!socket.writable) {
    socket.destroy();
    return true;
  }
  const error = timeoutError('the request headers', d.headersTimeoutMs, 'headers_timeout_ms');
  const requestId = newRequestId();
  const body: ErrorResponse = { type: 'error', error: { type: error.type, message: error.message }, request_id: requestId };
  const text = JSON.stringify(body);
  socket.end(
    'HTTP/1.1 408 Request Timeout\r\n' +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(text)}\r\n` +
      `request-id: ${requestId}\r\n` +
      'connection: close\r\n\r\n' +
      text,
  );
  closeAfterFlush(socket);
  return true;
}

function timeoutError(what: string, ms: number, field: string): GatewayError {
  return new GatewayError(408, `request timeout: ${what} did not arrive within ${ms} ms (limits.${field})`, {
    type: 'timeout_error',
    headers: { connection: 'close' },
  });
}

/** Closes the connection once the answer has left, or after a grace period when the client does not read it. */
function closeAfterFlush(socket: Socket): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  if (socket.writableFinished) socket.destroy();
  else socket.once('finish', () => socket.destroy());
}
