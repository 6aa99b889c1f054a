import { Writable } from 'node:stream';
import { anthropicError, anthropicMessage, anthropicSseEvents, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../src/config/schema.js';
import { MAX_LOGGED_BODY } from '../src/observability/observer.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';

const MODEL = 'claude-sonnet-4-5';
const CLIENT_KEY = 'sk-ant-client-secret-0123456789';
const UPSTREAM_KEY = 'sk-ant-upstream-secret-9876543210';
const PROMPT = 'What is the secret ingredient of the soup?';

/** A pino destination that keeps every line, parsed. */
function captureLog() {
  const lines: Array<Record<string, any>> = [];
  let raw = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      raw += String(chunk);
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines, raw: () => raw };
}

let upstream: FakeUpstream;
const running: RunningGateway[] = [];

async function gatewayWithLog(extra: Partial<ConfigInput> = {}, keys = [{ value: UPSTREAM_KEY }]) {
  const log = captureLog();
  const gw = await startGateway(
    {
      default_provider: 'anthropic',
      pricing: { [`anthropic/${MODEL}`]: { input_per_mtok: 3, output_per_mtok: 15 } },
      providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys, max_retries: 0 } },
      ...extra,
    },
    { logger: log.logger },
  );
  running.push(gw);
  return { gw, log };
}

/** The request lines (the log may hold others, e.g. start-up), once the response has closed. */
async function requestLines(log: ReturnType<typeof captureLog>, count: number) {
  const deadline = Date.now() + 2_000;
  for (;;) {
    const found = log.lines.filter((l) => l.msg === 'request');
    if (found.length >= count || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 5));
  }
}

beforeAll(async () => {
  upstream = await startFakeAnthropic();
});
afterAll(async () => {
  await Promise.all(running.map((g) => g.close()));
  await upstream?.close();
});
afterEach(() => upstream.reset());

const body = (extra: Record<string, unknown> = {}) => ({
  model: `anthropic/${MODEL}`,
  max_tokens: 64,
  messages: [{ role: 'user', content: PROMPT }],
  ...extra,
});

describe('one structured log line per request', () => {
  it('has the request id, key id, served target, attempts, status, timings, tokens and cost, and no secret or prompt', async () => {
    const { gw, log } = await gatewayWithLog();
    upstream.enqueue({ kind: 'json', body: anthropicMessage({ model: MODEL, usage: { input_tokens: 1000, output_tokens: 100 } }) });
    const res = await request(gw.url).post('/anthropic/v1/messages').set('x-api-key', CLIENT_KEY).send(body());
    expect(res.status).toBe(200);

    const [line] = await requestLines(log, 1);
    expect(line).toMatchObject({
      level: 30,
      msg: 'request',
      req_id: res.headers['request-id'],
      method: 'POST',
      path: '/anthropic/v1/messages',
      operation: 'chat',
      status: 200,
      stream: false,
      requested_model: `anthropic/${MODEL}`,
      provider: 'anthropic',
      model: MODEL,
      attempts: 1,
      fallback_index: 0,
      ttft_ms: null,
      input_tokens: 1000,
      output_tokens: 100,
      key_kind: 'x-api-key',
    });
    expect(line!.key_id).toMatch(/^sha256:[0-9a-f]{12}$/);
    // 1000 × $3 + 100 × $15 per million.
    expect(line!.cost_usd).toBeCloseTo(0.0045, 10);
    expect(line!.latency_ms).toBeGreaterThan(0);
    expect(line!.upstream_ms).toBeGreaterThan(0);
    expect(line!.overhead_ms).toBeCloseTo(line!.latency_ms - line!.upstream_ms, 2);
    expect(line).not.toHaveProperty('error_type');
    expect(line).not.toHaveProperty('body');

    const everything = log.raw();
    expect(everything).not.toContain(CLIENT_KEY);
    expect(everything).not.toContain(UPSTREAM_KEY);
    expect(everything).not.toContain(PROMPT);
  });

  it('streams: time to first token and the usage from message_start and message_delta', async () => {
    const { gw, log } = await gatewayWithLog();
    const message = anthropicMessage({ model: MODEL, text: 'Streamed for the log test.', usage: { input_tokens: 40, output_tokens: 9 } });
    upstream.enqueue({ kind: 'sse', events: anthropicSseEvents(message, { textChunks: 3 }), firstChunkDelayMs: 5 });
    const res = await request(gw.url)
      .post('/anthropic/v1/messages')
      .set('authorization', `Bearer ${CLIENT_KEY}`)
      .send(body({ stream: true }));
    expect(res.status).toBe(200);

    const [line] = await requestLines(log, 1);
    expect(line).toMatchObject({ status: 200, stream: true, input_tokens: 40, output_tokens: 9, key_kind: 'bearer' });
    expect(line!.ttft_ms).toBeGreaterThanOrEqual(4);
    expect(line!.ttft_ms).toBeLessThanOrEqual(line!.latency_ms);
    expect(log.raw()).not.toContain(CLIENT_KEY);
  });

  it('gives the same key the same id, another key another id, and says when there is none', async () => {
    const { gw, log } = await gatewayWithLog();
    await request(gw.url).post('/anthropic/v1/messages').set('x-api-key', CLIENT_KEY).send(body());
    await request(gw.url).post('/anthropic/v1/messages').set('authorization', `Bearer ${CLIENT_KEY}`).send(body());
    await request(gw.url).post('/anthropic/v1/messages').set('x-api-key', 'sk-ant-someone-else').send(body());
    await request(gw.url).post('/anthropic/v1/messages').send(body());
    const lines = await requestLines(log, 4);
    expect(lines.map((l) => l.key_kind)).toEqual(['x-api-key', 'bearer', 'x-api-key', 'none']);
    expect(lines[0]!.key_id).toBe(lines[1]!.key_id);
    expect(lines[2]!.key_id).not.toBe(lines[0]!.key_id);
    expect(lines[3]!.key_id).toBeNull();
  });

  it('logs failures with their type and message; upstream 5xx at warn', async () => {
    const { gw, log } = await gatewayWithLog();
    upstream.enqueue(anthropicError(500, 'api_error', 'Internal server error'));
    const failed = await request(gw.url).post('/anthropic/v1/messages').set('x-api-key', CLIENT_KEY).send(body());
    expect(failed.status).toBe(500);
    const invalid = await request(gw.url).post('/anthropic/v1/messages').send({ model: MODEL, messages: [] });
    expect(invalid.status).toBe(400);

    const [upstreamFailure, validation] = await requestLines(log, 2);
    expect(upstreamFailure).toMatchObject({ level: 40, status: 500, error_type: 'api_error', provider: 'anthropic', model: MODEL });
    expect(upstreamFailure!.error).toContain('Internal server error');
    expect(validation).toMatchObject({ level: 30, status: 400, error_type: 'invalid_request_error', provider: null, cost_usd: null });
    expect(validation!.error).toMatch(/max_tokens/);
  });

  it('names the operation; count_tokens names the provider/model it resolved to and times the upstream call', async () => {
    const { gw, log } = await gatewayWithLog();
    const counted = await request(gw.url)
      .post('/anthropic/v1/messages/count_tokens')
      .set('x-api-key', CLIENT_KEY)
      .send({ model: MODEL, messages: [{ role: 'user', content: PROMPT }] });
    expect(counted.status).toBe(200);
    await request(gw.url).get('/anthropic/v1/models').set('x-api-key', CLIENT_KEY).expect(200);

    const [count, list] = await requestLines(log, 2);
    expect(count).toMatchObject({
      operation: 'count_tokens',
      status: 200,
      requested_model: MODEL,
      provider: 'anthropic',
      model: MODEL,
      input_tokens: null,
      cost_usd: null,
    });
    expect(count!.upstream_ms).toBeGreaterThan(0);
    expect(list).toMatchObject({ operation: 'list_models', status: 200, provider: null, model: null, upstream_ms: null });
    expect(log.raw()).not.toContain(PROMPT);
  });

  it('records a client that left mid-stream as 499', async () => {
    const { gw, log } = await gatewayWithLog();
    const message = anthropicMessage({ model: MODEL, text: 'This stream stalls and the client gives up.' });
    // message_start, ping, content_block_start, two deltas: the stream is open and flowing, then stalls.
    upstream.enqueue({ kind: 'sse', events: anthropicSseEvents(message, { textChunks: 4 }), stallAfter: 5 });
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body({ stream: true })),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    const [line] = await requestLines(log, 1);
    expect(line).toMatchObject({ status: 499, error_type: 'client_closed', provider: 'anthropic', stream: true });
  });

  it('puts the request body in the line only with log_bodies, MCP tokens redacted', async () => {
    const { gw, log } = await gatewayWithLog({ log_bodies: true });
    const mcp = [{ type: 'url', name: 'tools', url: 'https://mcp.example.com/sse', authorization_token: 'mcp-secret-token-42' }];
    const res = await request(gw.url).post('/anthropic/v1/messages').set('x-api-key', CLIENT_KEY).send(body({ mcp_servers: mcp }));
    expect(res.status).toBe(200);
    // The upstream still got the token: only the log is redacted.
    expect(upstream.requests[0]!.body.mcp_servers[0].authorization_token).toBe('mcp-secret-token-42');

    const [line] = await requestLines(log, 1);
    expect(line!.body.messages[0].content).toBe(PROMPT);
    expect(line!.body.mcp_servers[0]).toEqual({ ...mcp[0], authorization_token: '[redacted]' });
    expect(log.raw()).not.toContain('mcp-secret-token-42');
    expect(log.raw()).not.toContain(CLIENT_KEY);
  });

  it('cuts a long body in the line at MAX_LOGGED_BODY characters of its JSON text, and says so', async () => {
    const { gw, log } = await gatewayWithLog({ log_bodies: true });
    const long = 'x'.repeat(MAX_LOGGED_BODY * 2);
    const mcp = [{ type: 'url', name: 'tools', url: 'https://mcp.example.com/sse', authorization_token: 'mcp-secret-token-42' }];
    const res = await request(gw.url)
      .post('/anthropic/v1/messages')
      .set('x-api-key', CLIENT_KEY)
      .send({ model: `anthropic/${MODEL}`, max_tokens: 64, mcp_servers: mcp, messages: [{ role: 'user', content: long }] });
    expect(res.status).toBe(200);
    const [line] = await requestLines(log, 1);
    expect(line!.body_truncated).toBe(true);
    expect(typeof line!.body).toBe('string');
    expect(line!.body).toHaveLength(MAX_LOGGED_BODY);
    expect(line!.body.startsWith('{"model":')).toBe(true);
    // The secret came before the cut: the text is the redacted body's.
    expect(line!.body).toContain('"authorization_token":"[redacted]"');
    expect(log.raw().length).toBeLessThan(MAX_LOGGED_BODY * 1.5);
    expect(log.raw()).not.toContain('mcp-secret-token-42');
  });

  it('does not log or count the probes', async () => {
    const { gw, log } = await gatewayWithLog();
    await request(gw.url).get('/health').expect(200);
    await request(gw.url).get('/ready').expect(200);
    const scrape = await request(gw.url).get('/metrics').expect(200);
    expect(scrape.text).not.toMatch(/^conduit_requests_total\{/m);
    await request(gw.url).post('/anthropic/v1/messages').send(body());
    const lines = await requestLines(log, 1);
    expect(lines.map((l) => l.path)).toEqual(['/anthropic/v1/messages']);
  });
});
