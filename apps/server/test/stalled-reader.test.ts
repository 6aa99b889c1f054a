import { connect, type Socket } from 'node:net';
import { anthropicMessage, anthropicSseEvents, parseSse, startFakeAnthropic, type FakeUpstream, type RecordedRequest } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sleep, submitJob, waitFor } from './helpers/async.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { parsePrometheus, sample } from './helpers/prometheus.js';
import { MESSAGES, warmUp } from './helpers/routing.js';

// A client that stops reading its answer must not make the gateway pull the whole upstream answer
// into memory: the gateway stops reading the upstream while the client's socket is full, and a
// client that reads nothing for limits.stalled_reader_ms is disconnected and its upstream aborted.

const STALL_MS = 2_000;
/**
 * About 32 MB of answer in 1 KB text deltas: far more than the socket buffers between the three
 * processes (on loopback the kernel holds several MB each way).
 */
const DELTAS = 32_000;
const BIG_TEXT = 'All work and no play makes a stream go on and on. '.repeat(20 * DELTAS).slice(0, 1_000 * DELTAS);
const BIG_STREAM = anthropicSseEvents(anthropicMessage({ model: 'claude-big', text: BIG_TEXT, usage: { input_tokens: 10, output_tokens: DELTAS } }), {
  textChunks: DELTAS,
});
const BIG_STREAM_BYTES = BIG_STREAM.reduce((n, f) => n + Buffer.byteLength(f), 0);

let upstream: FakeUpstream;
let gw: RunningGateway;
const clients: Socket[] = [];

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gw = await startGateway(
    {
      default_provider: 'up',
      providers: { up: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'k' }], max_retries: 0 } },
      limits: { stalled_reader_ms: STALL_MS },
    },
    // Pings every 50 ms of silence: a stalled client must not collect a queue of them.
    { pingIntervalMs: 50 },
  );
  await warmUp(gw);
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
  upstream.reset();
});

/** A raw HTTP client that sends one request and then reads nothing until told to. */
function pausedClient(body: object, headers = ''): { socket: Socket; received: () => string; closed: Promise<void> } {
  const { port } = new URL(gw.url);
  const socket = connect(Number(port), '127.0.0.1');
  clients.push(socket);
  const json = JSON.stringify(body);
  socket.pause();
  socket.write(
    `POST ${MESSAGES} HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\nx-api-key: k\r\n${headers}content-length: ${Buffer.byteLength(json)}\r\n\r\n${json}`,
  );
  let text = '';
  socket.setEncoding('utf8');
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
  socket.on('data', (chunk: string) => (text += chunk));
  socket.pause(); // the 'data' listener would start the flow: keep it stopped
  return { socket, received: () => text, closed };
}

/** The body of a chunked HTTP response (headers stripped, chunk sizes removed). */
function dechunk(raw: string): string {
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  return body.replace(/(^|\r\n)[0-9a-f]+\r\n/g, '$1').replace(/\r\n/g, '');
}

const upstreamRequest = (): RecordedRequest => upstream.requests[0]!;

describe('a client that stops reading a stream', () => {
  it('pauses the upstream while its socket is full, and is disconnected with the upstream aborted after the stall limit', async () => {
    upstream.enqueue({ kind: 'sse', events: BIG_STREAM, backpressure: true });
    const client = pausedClient({ model: 'up/claude-big', max_tokens: 100_000, stream: true, messages: [{ role: 'user', content: 'go on' }] });

    await waitFor('the upstream to start answering', () => upstream.requests.length === 1 && upstreamRequest().progress.framesSent > 0);
    const progress = upstreamRequest().progress;
    // Wait for the upstream to stop getting further: the buffers between the processes are full.
    let sentWhileStalled = -1;
    while (progress.bytesSent !== sentWhileStalled && !progress.finished) {
      sentWhileStalled = progress.bytesSent;
      await sleep(200);
    }
    // It is held back before the stall limit: it wrote a few socket buffers' worth, not the answer.
    expect(progress.aborted).toBe(false);
    expect(progress.sawBackpressure).toBe(true);
    expect(progress.finished).toBe(false);
    expect(sentWhileStalled).toBeLessThan(BIG_STREAM_BYTES / 2);

    // Past the stall limit the gateway gives up on the client and aborts the upstream request.
    await waitFor('the upstream request to be aborted', () => progress.aborted, STALL_MS * 4);
    expect(progress.finished).toBe(false);

    // The client, reading at last, finds what was in flight, then the end: no message_stop.
    client.socket.resume();
    await client.closed;
    const body = dechunk(client.received());
    expect(body.length).toBeLessThan(BIG_STREAM_BYTES / 2);
    // (A slow machine may open the stream with a ping before message_start: the upstream took longer than the ping interval.)
    const events = parseSse(body).filter((e) => e.event !== 'ping');
    expect(events[0]?.event).toBe('message_start');
    expect(events.some((e) => e.event === 'content_block_delta')).toBe(true);
    expect(events.some((e) => e.event === 'message_stop')).toBe(false);
    // Pings held back while the client does not read: src/http/sse-writer.test.ts (what was queued
    // in the gateway is dropped with the connection, so a client cannot see it here).

    const metrics = parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text());
    expect(sample(metrics, 'conduit_requests_total', { http_response_status_code: '200', error_type: 'timeout_error' })).toBe(1);
  });

  it('a client that reads slowly but steadily gets the whole stream', async () => {
    // The same 32 MB in 8 KB deltas: what is tested is the pauses, and fewer frames keep the run
    // short when the machine is busy (each frame is a drain cycle in the fake).
    const stream = anthropicSseEvents(anthropicMessage({ model: 'claude-big', text: BIG_TEXT, usage: { input_tokens: 10, output_tokens: DELTAS } }), {
      textChunks: DELTAS / 8,
    });
    upstream.enqueue({ kind: 'sse', events: stream, backpressure: true });
    const client = pausedClient({ model: 'up/claude-big', max_tokens: 100_000, stream: true, messages: [{ role: 'user', content: 'go on' }] });
    // Reads in bursts, with pauses shorter than the stall limit.
    let pausing: NodeJS.Timeout | undefined;
    const reader = setInterval(() => {
      client.socket.resume();
      pausing = setTimeout(() => client.socket.pause(), 20);
    }, STALL_MS / 10);
    try {
      await waitFor('the upstream to finish', () => upstream.requests.length === 1 && upstreamRequest().progress.finished, 60_000);
    } finally {
      clearInterval(reader);
      // A burst's pause still to come would stop the client again after the resume below, for good.
      clearTimeout(pausing);
    }
    client.socket.resume();
    await waitFor('the whole stream', () => client.received().includes('event: message_stop'), 10_000);
    expect(upstreamRequest().progress.aborted).toBe(false);
    expect(upstreamRequest().progress.sawBackpressure).toBe(true);
  }, 80_000);
});

describe('a client that does not read a JSON answer', () => {
  it('is disconnected after the stall limit instead of holding the answer forever', async () => {
    const stalls = async () =>
      sample(parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text()), 'conduit_requests_total', { http_response_status_code: '200', error_type: 'timeout_error' }) ?? 0;
    const before = await stalls();
    const message = anthropicMessage({ model: 'claude-big', text: BIG_TEXT });
    upstream.enqueue({ kind: 'json', body: message });
    const client = pausedClient({ model: 'up/claude-big', max_tokens: 100_000, messages: [{ role: 'user', content: 'all at once' }] });
    await waitFor('the upstream to answer', () => upstream.requests.length === 1 && upstreamRequest().progress.finished);
    await sleep(STALL_MS * 2);
    client.socket.resume();
    await client.closed;
    const received = client.received();
    expect(received.startsWith('HTTP/1.1 200')).toBe(true);
    expect(received.length).toBeLessThan(JSON.stringify(message).length);
    expect(await stalls()).toBe(before + 1);
  });

  it("the same goes for an async job's answer fetched by a poll", async () => {
    const message = anthropicMessage({ model: 'claude-big', text: BIG_TEXT });
    upstream.enqueue({ kind: 'json', body: message });
    const id = await submitJob(gw.url, { model: 'up/claude-big', max_tokens: 100_000, messages: [{ role: 'user', content: 'later' }] }, { 'x-api-key': 'k' });
    await waitFor('the job to finish', async () => (await gw.gateway.jobs.get(id))?.outcome !== undefined);
    const client = pausedClient({}, `x-bf-async-id: ${id}\r\n`);
    await sleep(STALL_MS * 2);
    client.socket.resume();
    await client.closed;
    const received = client.received();
    expect(received.startsWith('HTTP/1.1 200')).toBe(true);
    expect(received.length).toBeLessThan(JSON.stringify(message).length);
  });
});
