import { anthropicErrorEvent, anthropicMessage, anthropicSseEvents, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectContractResponse, expectContractStream } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { anthropicProvider, gaps, MESSAGES, send, served, streamedText, warmUp } from './helpers/routing.js';

let primary: FakeUpstream;
let backup: FakeUpstream;
let gw: RunningGateway;

// first_token_ms has headroom for a loaded CI machine; the other limits are what the scenarios measure.
const FAST = { connect_ms: 1_000, headers_ms: 300, first_token_ms: 500, idle_ms: 300, total_ms: 5_000 };

beforeAll(async () => {
  primary = await startFakeAnthropic();
  backup = await startFakeAnthropic();
  // Continuation off: these are the breaks a client sees when nothing can take the answer up
  // (continuation itself: stream-continuation.test.ts).
  gw = await startGateway({
    limits: { max_stream_continuations: 0 },
    providers: {
      main: anthropicProvider(primary.url, { max_retries: 1, timeouts: FAST }),
      deadline: anthropicProvider(primary.url, { max_retries: 0, timeouts: { ...FAST, headers_ms: 5_000, first_token_ms: 5_000, idle_ms: 5_000, total_ms: 500 } }),
      backup: anthropicProvider(backup.url, { keys: [{ value: 'sk-backup' }] }),
    },
  });
  await warmUp(gw);
});
afterAll(async () => {
  await gw?.close();
  await primary?.close();
  await backup?.close();
});
afterEach(() => {
  primary.reset();
  backup.reset();
});

const TEXT = 'one two three four five six seven eight nine ten';
const streamOf = (model: string) => anthropicSseEvents(anthropicMessage({ model, text: TEXT, usage: { input_tokens: 11, output_tokens: 13 } }), { textChunkSize: 4 });
// message_start, ping, content_block_start, then text deltas
const FIRST_DELTA = 3;

/** A stream that reached the client, then failed: an `error` event last and never message_stop. */
function expectBrokenStream(text: string) {
  const events = expectContractStream(text);
  expect(events.at(-1)!.event).toBe('error');
  expect(events.some((e) => e.event === 'message_stop')).toBe(false);
  return events;
}

/** A complete stream with exactly one message_start. */
function expectCleanStream(text: string) {
  const events = expectContractStream(text);
  expect(events.filter((e) => e.event === 'message_start')).toHaveLength(1);
  expect(events.at(-1)!.event).toBe('message_stop');
  expect(events.some((e) => e.event === 'error')).toBe(false);
  return events;
}

describe.each([
  ['JSON', false],
  ['stream', true],
])('a silent upstream (%s)', (_mode, stream) => {
  it('no response at all: one attempt ends at its timeout, then the fallback serves at once', async () => {
    primary.setResponder(() => ({ kind: 'hang' }));
    const reply = await send(gw, { model: 'main/claude-hang', fallbacks: ['backup/claude-b'], stream });
    expect(reply.status).toBe(200);
    if (stream) expectCleanStream(reply.text);
    // A silent route asked again only doubles the wait: the fallback is next.
    expect(primary.requests).toHaveLength(1);
    expect(backup.requests[0]!.at - primary.requests[0]!.at).toBeGreaterThanOrEqual(290);
    expect(reply.ms).toBeLessThan(2000);
    expect(served(reply)).toEqual({ provider: 'backup', model: 'claude-b', attempts: '2', fallbackIndex: '1' });
  });

  it('no response at all, the fallback circuit open: the silent route is the last one, so it is retried', async () => {
    primary.setResponder(() => ({ kind: 'hang' }));
    const open = await startGateway({
      providers: {
        main: anthropicProvider(primary.url, { max_retries: 1, timeouts: FAST }),
        dead: anthropicProvider(backup.url, { keys: [{ value: 'sk-backup' }], max_retries: 0, breaker: { failure_threshold: 1, cooldown_ms: 60_000 } }),
      },
    });
    try {
      await warmUp(open);
      backup.enqueue({ kind: 'json', status: 503, body: { type: 'error', error: { type: 'overloaded_error', message: 'down' } } });
      expect((await send(open, { model: 'dead/claude-d', stream })).status).toBe(503);
      const reply = await send(open, { model: 'main/claude-hang', fallbacks: ['dead/claude-d'], stream });
      expect(reply.status).toBe(504);
      expect(primary.requests).toHaveLength(2);
      expect(backup.requests).toHaveLength(1);
    } finally {
      await open.close();
    }
  });

  it('no response at all and no fallback: a 504 within the budget, naming the attempts', async () => {
    primary.setResponder(() => ({ kind: 'hang' }));
    const reply = await send(gw, { model: 'main/claude-hang', stream });
    expect(reply.status).toBe(504);
    expect(reply.json.error.type).toBe('timeout_error');
    expectContractResponse(MESSAGES, 'post', 504, reply.json);
    expect(reply.json.error.message).toMatch(/\(2 attempts: main\/claude-hang → timeout \(\w[\w ]*\), main\/claude-hang → timeout/);
    expect(reply.ms).toBeGreaterThanOrEqual(580);
    expect(reply.ms).toBeLessThan(3000);
  });

  it('the overall deadline (total_ms) bounds the request whatever the other limits say', async () => {
    primary.setResponder(() => ({ kind: 'hang' }));
    const reply = await send(gw, { model: 'deadline/claude-d', stream });
    expect(reply.status).toBe(504);
    expect(reply.json.error.message).toMatch(/did not finish before the deadline|sent no content within 500 ms|within 500 ms/);
    expect(reply.ms).toBeGreaterThanOrEqual(480);
    expect(reply.ms).toBeLessThan(2500);
  });
});

describe('streams before the first content: failures are invisible', () => {
  it('slow first token: timed out, then the fallback streams at once', async () => {
    primary.setResponder(() => ({ kind: 'sse', events: streamOf('claude-slow'), firstChunkDelayMs: 4000 }));
    const reply = await send(gw, { model: 'main/claude-slow', fallbacks: ['backup/claude-b'], stream: true });
    const events = expectCleanStream(reply.text);
    expect(events[0]!.data.message.model).toBe('claude-b');
    expect(primary.requests).toHaveLength(1);
    expect(reply.ms).toBeGreaterThanOrEqual(490);
    expect(reply.ms).toBeLessThan(2000);
    expect(served(reply)).toEqual({ provider: 'backup', model: 'claude-b', attempts: '2', fallbackIndex: '1' });
  });

  it('slow first token on the last target: retried there', async () => {
    primary.setResponder(() => ({ kind: 'sse', events: streamOf('claude-slow'), firstChunkDelayMs: 4000 }));
    const reply = await send(gw, { model: 'main/claude-slow', stream: true });
    expect(reply.status).toBe(504);
    expect(primary.requests).toHaveLength(2);
    expect(gaps(primary.requests)[0]).toBeGreaterThanOrEqual(490);
  });

  it('message_start alone is not content: an upstream that stalls after it is retried unseen', async () => {
    primary.enqueue({ kind: 'sse', events: streamOf('claude-x'), stallAfter: 2 }, { kind: 'sse', events: streamOf('claude-x') });
    const reply = await send(gw, { model: 'main/claude-x', stream: true });
    const events = expectCleanStream(reply.text);
    expect(streamedText(events)).toBe(TEXT);
    expect(primary.requests).toHaveLength(2);
    expect(served(reply).attempts).toBe('2');
  });

  it('a stream cut before any content is retried unseen', async () => {
    primary.enqueue({ kind: 'sse', events: streamOf('claude-x'), cutAfter: FIRST_DELTA }, { kind: 'sse', events: streamOf('claude-x') });
    const reply = await send(gw, { model: 'main/claude-x', stream: true });
    expect(streamedText(expectCleanStream(reply.text))).toBe(TEXT);
    expect(primary.requests).toHaveLength(2);
  });

  it('a malformed event before any content is retried unseen', async () => {
    const events = streamOf('claude-x');
    primary.enqueue({ kind: 'sse', events: [events[0]!, 'event: content_block_start\ndata: <html>502 Bad Gateway</html>\n\n', ...events.slice(2)] }, { kind: 'sse', events: streamOf('claude-x') });
    const reply = await send(gw, { model: 'main/claude-x', stream: true });
    expect(reply.text).not.toContain('<html>');
    expect(streamedText(expectCleanStream(reply.text))).toBe(TEXT);
    expect(primary.requests).toHaveLength(2);
  });

  it("the upstream's own error event before any content is retried unseen", async () => {
    const events = streamOf('claude-x');
    primary.enqueue({ kind: 'sse', events: [events[0]!, anthropicErrorEvent('overloaded_error', 'Overloaded')] }, { kind: 'sse', events: streamOf('claude-x') });
    const reply = await send(gw, { model: 'main/claude-x', stream: true });
    expect(streamedText(expectCleanStream(reply.text))).toBe(TEXT);
    expect(primary.requests).toHaveLength(2);
  });
});

describe('streams after the first content, continuation off: the client gets event: error, never message_stop', () => {
  it('stream cut after N tokens', async () => {
    primary.enqueue({ kind: 'sse', events: streamOf('claude-x'), cutAfter: FIRST_DELTA + 3 });
    const reply = await send(gw, { model: 'main/claude-x', stream: true });
    const events = expectBrokenStream(reply.text);
    expect(streamedText(events)).toBe(TEXT.slice(0, 12));
    expect(primary.requests).toHaveLength(1); // content was out: no retry
    expect(served(reply).provider).toBe('main');
  });

  it('stream stall: the idle timeout ends it within the budget', async () => {
    primary.enqueue({ kind: 'sse', events: streamOf('claude-x'), stallAfter: FIRST_DELTA + 2 });
    const reply = await send(gw, { model: 'main/claude-x', stream: true });
    const events = expectBrokenStream(reply.text);
    expect(events.at(-1)!.data.error).toEqual({ type: 'timeout_error', message: 'main/claude-x: the upstream went silent mid-stream within 300 ms' });
    expect(streamedText(events)).toBe(TEXT.slice(0, 8));
    expect(reply.ms).toBeGreaterThanOrEqual(290);
    expect(reply.ms).toBeLessThan(2500);
    expect(primary.requests).toHaveLength(1);
  });

  it('a malformed chunk never reaches the client; the stream ends cleanly and the gateway stays healthy', async () => {
    const events = streamOf('claude-x');
    const garbled = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"GARB\n\n';
    primary.enqueue({ kind: 'sse', events: [...events.slice(0, FIRST_DELTA + 2), garbled, ...events.slice(FIRST_DELTA + 2)] });
    const reply = await send(gw, { model: 'main/claude-x', stream: true });
    const got = expectBrokenStream(reply.text);
    expect(reply.text).not.toContain('GARB');
    expect(got.at(-1)!.data.error.type).toBe('api_error');
    expect(got.at(-1)!.data.error.message).toMatch(/malformed stream event/);
    primary.reset();
    const next = await send(gw, { model: 'main/claude-x', stream: true });
    expectCleanStream(next.text);
  });

  it("the upstream's own error event after content is relayed as the stream's error", async () => {
    const events = streamOf('claude-x');
    primary.enqueue({ kind: 'sse', events: [...events.slice(0, FIRST_DELTA + 1), anthropicErrorEvent('overloaded_error', 'Overloaded')] });
    const reply = await send(gw, { model: 'main/claude-x', stream: true });
    expect(expectBrokenStream(reply.text).at(-1)!.data.error).toEqual({ type: 'overloaded_error', message: 'Overloaded' });
    expect(primary.requests).toHaveLength(1);
  });

  it('the overall deadline ends a stream that trickles forever', async () => {
    primary.enqueue({ kind: 'sse', events: streamOf('claude-d'), chunkDelayMs: 60 });
    const reply = await send(gw, { model: 'deadline/claude-d', stream: true });
    const events = expectBrokenStream(reply.text);
    expect(events.at(-1)!.data.error.message).toBe('deadline/claude-d: the upstream did not finish before the deadline within 500 ms');
    expect(reply.ms).toBeGreaterThanOrEqual(480);
    expect(reply.ms).toBeLessThan(2500);
  });
});

describe('a long wait before the first content', () => {
  let pinging: RunningGateway;
  beforeAll(async () => {
    pinging = await startGateway(
      { providers: { main: anthropicProvider(primary.url, { max_retries: 0, timeouts: { ...FAST, first_token_ms: 2_000 } }) } },
      { pingIntervalMs: 100 },
    );
    await warmUp(pinging);
  });
  afterAll(() => pinging?.close());

  it('opens the stream after a ping interval so pings keep the client; the answer follows', async () => {
    primary.enqueue({ kind: 'sse', events: streamOf('claude-x'), firstChunkDelayMs: 600 });
    const reply = await send(pinging, { model: 'main/claude-x', stream: true });
    const events = expectCleanStream(reply.text);
    expect(events.findIndex((e) => e.event === 'ping')).toBe(0);
    expect(events.filter((e) => e.event === 'ping').length).toBeGreaterThanOrEqual(3);
    // Opened before anyone knew which attempt would serve: no x-bf-* headers rather than wrong ones.
    expect(reply.headers.get('x-bf-provider')).toBeNull();
  });

  it('a failure after the stream opened early arrives as event: error', async () => {
    primary.setResponder(() => ({ kind: 'hang' }));
    const failed = await send(pinging, { model: 'main/claude-x', stream: true });
    expect(failed.status).toBe(200);
    const events = expectContractStream(failed.text);
    expect(events[0]!.event).toBe('ping');
    expect(events.at(-1)!.event).toBe('error');
    expect(events.at(-1)!.data.error.type).toBe('timeout_error');
    expect(events.some((e) => e.event === 'message_start')).toBe(false);
  });

  it('a request that fails fast still gets its HTTP status', async () => {
    primary.enqueue({ kind: 'json', status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'bad' } } });
    const reply = await send(pinging, { model: 'main/claude-x', stream: true });
    expect(reply.status).toBe(400);
    expect(reply.json.error.message).toBe('bad');
  });
});
