import { connect, type Socket } from 'node:net';
import { startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectContractResponse } from './helpers/contract.js';
import { parsePrometheus, sample } from './helpers/prometheus.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { MESSAGES, send, warmUp } from './helpers/routing.js';

// A client that sends its request slower than the deadlines gets a 408 in Anthropic's envelope and
// the connection is closed: a slow request is not held forever.

const HEADERS_MS = 300;
const REQUEST_MS = 700;

let upstream: FakeUpstream;
let gw: RunningGateway;

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gw = await startGateway({
    default_provider: 'up',
    providers: { up: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'k' }] } },
    limits: { headers_timeout_ms: HEADERS_MS, request_timeout_ms: REQUEST_MS },
  });
  await warmUp(gw);
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

interface RawExchange {
  /** Everything the gateway sent. */
  text: string;
  /** ms from connect until the gateway closed the connection. */
  closedAfterMs: number;
}

/** Opens a raw TCP connection, lets `drive` write to it, and resolves when the gateway closes it. */
function rawExchange(drive: (socket: Socket) => void, giveUpMs = 5_000): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const { port } = new URL(gw.url);
    const started = Date.now();
    const socket = connect(Number(port), '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the gateway kept the connection open for ${giveUpMs} ms; it sent: ${JSON.stringify(text)}`));
    }, giveUpMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => undefined); // a reset after the answer counts as closed
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedAfterMs: Date.now() - started });
    });
    socket.on('connect', () => drive(socket));
  });
}

function parseResponse(raw: string): { status: number; headers: Record<string, string>; body: any } {
  const split = raw.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = raw.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
  return { status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(raw.slice(split + 4)) };
}

/** Writes `parts` one after the other, `everyMs` apart, while the socket is open. */
function trickle(socket: Socket, parts: string[], everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= parts.length) return clearInterval(timer);
    socket.write(parts[i++]!);
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}

describe('request deadlines', () => {
  it('headers that never finish: 408 timeout_error in the envelope, then the connection closes', async () => {
    // Header lines keep coming, slowly, and never end.
    const { text, closedAfterMs } = await rawExchange((socket) => {
      socket.write(`POST ${MESSAGES} HTTP/1.1\r\nhost: gateway\r\n`);
      trickle(socket, Array.from({ length: 100 }, (_, i) => `x-slow-${i}: ${i}\r\n`), 50);
    });
    const res = parseResponse(text);
    expect(res.status).toBe(408);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers.connection).toBe('close');
    expect(res.headers['request-id']).toMatch(/^req_/);
    expect(res.body).toEqual({
      type: 'error',
      error: { type: 'timeout_error', message: `request timeout: the request headers did not arrive within ${HEADERS_MS} ms (limits.headers_timeout_ms)` },
      request_id: res.headers['request-id'],
    });
    expectContractResponse(MESSAGES, 'post', 408, res.body);
    expect(closedAfterMs).toBeGreaterThanOrEqual(HEADERS_MS);
  });

  it('a connection that sends nothing gets the same answer', async () => {
    const { text } = await rawExchange(() => undefined);
    expect(parseResponse(text).status).toBe(408);
  });

  it('a body trickled slower than the deadline: 408 timeout_error in the envelope, then the connection closes', async () => {
    const body = JSON.stringify({ model: 'up/claude-x', max_tokens: 8, messages: [{ role: 'user', content: 'x'.repeat(400) }] });
    const { text, closedAfterMs } = await rawExchange((socket) => {
      socket.write(`POST ${MESSAGES} HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\nx-api-key: k\r\ncontent-length: ${body.length}\r\n\r\n`);
      // 10 bytes every 50 ms: the whole body would take over 2 s.
      trickle(socket, body.match(/.{1,10}/gs)!, 50);
    });
    const res = parseResponse(text);
    expect(res.status).toBe(408);
    expect(res.headers.connection).toBe('close');
    expect(res.body.error).toEqual({
      type: 'timeout_error',
      message: `request timeout: the request body did not arrive within ${REQUEST_MS} ms (limits.request_timeout_ms)`,
    });
    expect(res.body.request_id).toBe(res.headers['request-id']);
    expectContractResponse(MESSAGES, 'post', 408, res.body);
    expect(closedAfterMs).toBeGreaterThanOrEqual(REQUEST_MS);
    expect(closedAfterMs).toBeLessThan(3_000);
    // Nothing reached the upstream; the request is counted as a 408 like any other answer.
    expect(upstream.requests).toHaveLength(0);
    const metrics = parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text());
    expect(sample(metrics, 'conduit_requests_total', { http_response_status_code: '408', error_type: 'timeout_error' })).toBe(1);
  });

  it('other malformed requests still get a 400 and a closed connection at once', async () => {
    const { text, closedAfterMs } = await rawExchange((socket) => socket.write('POST /anthropic/v1/messages HTTP/1.1\r\nno colon here\r\n\r\n'));
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(closedAfterMs).toBeLessThan(HEADERS_MS);
  });

  it('requests sent in time are served as before, on the same server', async () => {
    const r = await send(gw, { model: 'up/claude-x' });
    expect(r.status).toBe(200);
  });
});
