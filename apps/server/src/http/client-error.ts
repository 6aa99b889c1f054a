import { STATUS_CODES, maxHeaderSize as defaultMaxHeaderSize, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { errorTypeForStatus } from '../errors.js';
import type { ErrorResponse } from '../generated/types.gen.js';
import { answerRequestTimeout, type RequestDeadlines } from './request-deadlines.js';
import { newRequestId } from './request-id.js';

/** node:http's parser error codes that mean "too large" rather than "malformed". */
const TOO_LARGE = new Set(['HPE_HEADER_OVERFLOW']);
const TIMED_OUT = new Set(['ERR_HTTP_REQUEST_TIMEOUT', 'HPE_HEADERS_TIMEOUT']);

/** What status and message a request node:http could not parse gets. */
export function clientErrorAnswer(err: NodeJS.ErrnoException & { reason?: string }, maxHeaderSize: number): { status: number; message: string } {
  const code = err.code ?? '';
  if (TOO_LARGE.has(code)) return { status: 431, message: `malformed HTTP request: headers are too large (the limit is ${maxHeaderSize} bytes)` };
  if (TIMED_OUT.has(code)) return { status: 408, message: 'the request was not received in time' };
  // llhttp's reasons are fixed phrases ("Invalid header value char"), never the client's bytes.
  const reason = typeof err.reason === 'string' && err.reason ? err.reason : code || 'parse error';
  return { status: 400, message: `malformed HTTP request: ${reason.slice(0, 100)}` };
}

/**
 * Answers requests that node:http could not parse (bad characters in a header, headers over the size
 * limit, a broken request line) in Anthropic's error envelope with a request-id, instead of Node's
 * bare status line, when the connection still allows an answer: nothing else is being answered on
 * it. The connection is closed afterwards, since what follows on it cannot be trusted. A request past
 * its deadlines gets its 408 from request-deadlines.ts.
 */
export function answerClientErrors(server: Server, deadlines: RequestDeadlines, logger?: Logger): void {
  server.on('clientError', (err: NodeJS.ErrnoException & { reason?: string }, socket: Duplex) => {
    if (answerRequestTimeout(err, socket as Socket, deadlines)) return;
    // A response still in flight on this connection (keep-alive): an answer now would interleave with it.
    const inFlight = (socket as Duplex & { _httpMessage?: unknown })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight) {
      socket.destroy();
      return;
    }
    const { status, message } = clientErrorAnswer(err, (server as Server & { maxHeaderSize?: number }).maxHeaderSize ?? defaultMaxHeaderSize);
    const requestId = newRequestId();
    const type = errorTypeForStatus(status);
    const body: ErrorResponse = { type: 'error', error: { type, message }, request_id: requestId };
    const json = JSON.stringify(body);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
        'content-type: application/json\r\n' +
        `content-length: ${Buffer.byteLength(json)}\r\n` +
        `request-id: ${requestId}\r\n` +
        'connection: close\r\n\r\n' +
        json,
    );
    socket.once('finish', () => socket.destroy());
    logger?.info({ req_id: requestId, status, error_type: type, error: message, code: err.code }, 'malformed request');
  });
}
